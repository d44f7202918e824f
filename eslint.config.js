// ESLint flat config: the recommended JavaScript and typescript-eslint rules (no type-aware rules, so
// `make lint` stays fast), with a few adjustments for this codebase. `make lint` runs it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', '.venv/', '.cache/', '.local/', 'build/', 'dist/', 'coverage/', 'test-artifacts/', 'models/', 'mlruns/', 'pipeline/', 'infra/local/target/', 'bench/results/', 'bench/peers/.venv/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly', structuredClone: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // One seam for the Kafka client: only services/shared/kafka imports it (its values or its types).
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@confluentinc/kafka-javascript', message: 'use the Kafka adapter in services/shared/kafka (client.ts, consumer.ts, producers.ts, admin.ts, read-topic.ts)' },
            { name: 'kafkajs', message: 'kafkajs left the project; use the Kafka adapter in services/shared/kafka' },
          ],
          patterns: [{ regex: '^[^./][^/]*(/[^/]+)?/(src|lib)/', message: "import a dependency through its public entry point, never its internal modules" }],
        },
      ],
    },
  },
  {
    files: ['services/shared/kafka/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [{ name: 'kafkajs', message: 'kafkajs left the project' }] }] },
  },
);
