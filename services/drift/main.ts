/** Entry point: `tsx services/drift/main.ts` (`make drift`). Configuration from the environment (docs/drift.md). */
import { ConfigError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { installSignalHandlers } from '../shared/signals.ts';
import { loadDriftConfig } from './config.ts';
import { DriftService } from './service.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadDriftConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`drift: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger('drift', config.logLevel);
  const service = new DriftService(config, log);
  installSignalHandlers(() => service.stop(), { timeoutMs: config.shutdownTimeoutMs, log: (m, extra) => log.info(extra ?? {}, m) });
  try {
    await service.start();
  } catch (e) {
    log.fatal({ err: e }, 'drift monitor failed to start');
    await service.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
