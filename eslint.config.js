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
      // kafkajs' values come through services/shared/kafka/kafkajs.ts, which patches kafkajs before it loads.
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [{ name: 'kafkajs', message: "import kafkajs' values from services/shared/kafka/kafkajs.ts (it patches kafkajs before it loads); types may come from 'kafkajs'", allowTypeImports: true }] }],
    },
  },
  {
    files: ['services/shared/kafka/kafkajs.ts', 'services/shared/kafka/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
);
