import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { groupMessagesPerPartition, kafkajsPatched } from './kafkajs-patch.ts';
import { createSendMessages } from './send-messages.ts';

const require = createRequire(import.meta.url);

describe('kafkajs groupMessagesPerPartition replacement', () => {
  it('returns exactly what the original returns', () => {
    // Load the original from its source, bypassing the module cache the patch writes to.
    const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
    const original = new Function('module', readFileSync(path, 'utf8') + '\nreturn module.exports;')({ exports: {} }) as typeof groupMessagesPerPartition;
    const partitionMetadata = Array.from({ length: 6 }, (_, i) => ({ partitionId: i }));
    const partitioner = ({ message }: { message: unknown }) => Number((message as { key: string }).key) % 6;
    const messages = Array.from({ length: 1000 }, (_, i) => ({ key: String((i * 7919) % 1009), value: Buffer.from([i % 256]) }));
    for (const args of [
      { topic: 't', partitionMetadata, messages, partitioner },
      { topic: 't', partitionMetadata: [], messages, partitioner },
      { topic: 't', partitionMetadata, messages: [], partitioner },
    ]) {
      expect(groupMessagesPerPartition(args)).toEqual(original(args));
    }
  });

  it('is the implementation kafkajs uses', async () => {
    expect(kafkajsPatched).toBe(true);
    await import('kafkajs');
    expect(require('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(groupMessagesPerPartition);
    expect(require('kafkajs/src/producer/sendMessages.js')).toBe(createSendMessages);
  });
});
