/** JSON-lines logging (pino) to stderr. */
import pino, { type Logger } from 'pino';

export function createLogger(service: string, level: string): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: false }));
}
export type { Logger };
