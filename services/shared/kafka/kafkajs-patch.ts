/**
 * Two replacements in kafkajs 2.2.4's producer: sendMessages (send-messages.ts: an acknowledged batch is
 * never sent again on a retry) and groupMessagesPerPartition, below.
 *
 * A linear replacement for kafkajs' producer/groupMessagesPerPartition. The original builds each
 * partition's list with `[...current, message]` for every message — O(n²/partitions) copying, which at
 * the scorer's batch sizes (thousands of output messages per commit) cost several microseconds per
 * message on the one JavaScript thread (profiled in docs/performance.md). Same inputs, same output.
 *
 * It is installed into the CommonJS module cache before kafkajs is first loaded (client.ts imports this
 * module first), for the pinned kafkajs version only: another version keeps its own implementation.
 */
import { createRequire } from 'node:module';
import { createSendMessages } from './send-messages.ts';

type Partitioner = (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;
export type GroupArgs = { topic: string; partitionMetadata: unknown[]; messages: unknown[]; partitioner: Partitioner };

export function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: GroupArgs): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

export const PATCHED_KAFKAJS_VERSION = '2.2.4';

function install(): boolean {
  const require = createRequire(import.meta.url);
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== PATCHED_KAFKAJS_VERSION) return false;
  const Module = require('node:module') as { new (id: string): NodeJS.Module };
  const replace = (id: string, exports: unknown) => {
    const path = require.resolve(id);
    if (require.cache[path]?.exports === exports) return;
    const m = new Module(path);
    m.filename = path;
    m.loaded = true;
    m.exports = exports;
    require.cache[path] = m;
  };
  replace('kafkajs/src/producer/groupMessagesPerPartition.js', groupMessagesPerPartition);
  // Never re-send an acknowledged batch on a retry (send-messages.ts: duplicates under leader changes).
  replace('kafkajs/src/producer/sendMessages.js', createSendMessages);
  return true;
}

export const kafkajsPatched = install();
