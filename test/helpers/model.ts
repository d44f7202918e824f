import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

/** The initial model built by `make model` (pipeline/train_initial.py). */
export function initialModelDir(): string {
  const dir = process.env.TEST_MODEL_DIR ?? join(REPO_ROOT, 'models', 'credit-default-classifier', '1');
  if (!existsSync(join(dir, 'model.onnx'))) throw new Error(`no model at ${dir}: run \`make model\` first (make test does)`);
  return dir;
}
