/** Entry point: `tsx services/drift/main.ts` (`make drift`). Configuration from the environment (docs/drift.md). */
import { runService } from '../shared/run-service.ts';
import { loadDriftConfig } from './config.ts';
import { DriftService } from './service.ts';

void runService('drift', () => loadDriftConfig(), (config, log) => new DriftService(config, log));
