/** Entry point: `tsx services/scorer/main.ts`. Config from the environment (see README). */
import { ConfigError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { installSignalHandlers } from '../shared/signals.ts';
import { loadScorerConfig } from './config.ts';
import { ScorerService } from './service.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadScorerConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`scorer: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger('scorer', config.logLevel);
  const service = new ScorerService(config, log);
  installSignalHandlers(() => service.stop(), { timeoutMs: config.shutdownTimeoutMs, log: (m, extra) => log.info(extra ?? {}, m) });
  try {
    await service.start();
  } catch (e) {
    log.fatal({ err: e }, 'scorer failed to start');
    await service.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
