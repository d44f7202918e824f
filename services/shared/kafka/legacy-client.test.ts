import { describe, expect, it } from 'vitest';
import { kafkajsLogLevel } from './legacy-client.ts';

describe('kafkajs log levels', () => {
  it('logs routine broker retries at debug, not error', () => {
    const concurrent = 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
    expect(kafkajsLogLevel('error', `Failed to send messages: ${concurrent}`, { retryCount: 0 })).toBe('debug');
    expect(kafkajsLogLevel('error', 'Response AddPartitionsToTxn(key: 24, version: 1)', { error: concurrent })).toBe('debug');
    expect(kafkajsLogLevel('error', 'Response OffsetFetch(key: 9, version: 7)', { error: 'There are unstable offsets that need to be cleared' })).toBe('debug');
  });

  it('keeps real errors at error and turns crash/restart lines into warnings', () => {
    expect(kafkajsLogLevel('error', 'Response Produce(key: 0, version: 7)', { error: 'The request included message batch larger than the configured segment size on the server' })).toBe('error');
    expect(kafkajsLogLevel('error', 'Crash: KafkaJSNonRetriableError: Failed to find group coordinator', {})).toBe('warn');
    expect(kafkajsLogLevel('warn', 'anything', {})).toBe('warn');
  });
});
