/** The README is for users; keep it true: every variable, topic and schema the code defines is documented. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { driftEnv } from '../services/drift/config.ts';
import { scorerEnv } from '../services/scorer/config.ts';
import { inputBoundsEnv } from '../services/shared/input-bounds.ts';
import { connectionEnv } from '../services/shared/kafka/connection.ts';
import { TOPICS_FILE } from '../services/shared/kafka/topic-catalog.ts';
import { REPO_ROOT } from '../services/shared/schemas.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('has the two commands of the quick start', () => {
    expect(readme).toMatch(/make start/);
    expect(readme).toMatch(/make test/);
  });

  it.each(Object.keys({ ...connectionEnv, ...scorerEnv, ...inputBoundsEnv }))('documents %s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });

  it.each(Object.values(TOPICS_FILE.topics))('lists topic $name with its variable and schema', (t) => {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${t.name}\``));
    expect(row, `no row for ${t.name}`).toBeDefined();
    expect(row).toContain(`\`${t.env}\``);
    expect(row).toContain(`schemas/${t.schema}.avsc`);
  });
});

describe('docs/drift.md', () => {
  const drift = readFileSync(join(REPO_ROOT, 'docs', 'drift.md'), 'utf8');
  it.each(Object.keys(driftEnv).filter((k) => !(k in connectionEnv)))('documents %s', (name) => {
    expect(drift).toContain(`\`${name}\``);
  });
});
