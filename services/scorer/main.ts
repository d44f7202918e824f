/** Entry point: `tsx services/scorer/main.ts`. Config from the environment (see README). */
import { runService } from '../shared/run-service.ts';
import { loadScorerConfig } from './config.ts';
import { ScorerService } from './service.ts';

void runService('scorer', () => loadScorerConfig(), (config, log) => new ScorerService(config, log));
