import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  decodeOffsetFetchV7,
  decodeTxnOffsetCommitV3,
  encodeOffsetFetchV7,
  markRequireStable,
  requiresStable,
  encodeTxnOffsetCommitV3,
  kip447Installed,
  NO_GENERATION,
  oldestGeneration,
  withGeneration,
} from './kip447.ts';

const require = createRequire(import.meta.url);
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Byte layouts follow Kafka's clients/src/main/resources/common/message/TxnOffsetCommitRequest.json (v3:
// flexible; GenerationId, MemberId, GroupInstanceId added; CommittedLeaderEpoch since v2) and
// OffsetFetchRequest.json (v7: flexible since v6, RequireStable added in v7).
describe('TxnOffsetCommit v3', () => {
  it('encodes the request byte for byte', () => {
    const buf = encodeTxnOffsetCommitV3(
      { transactionalId: 'tx', groupId: 'g', producerId: '5', producerEpoch: 1, topics: [{ topic: 't', partitions: [{ partition: 2, offset: '10' }] }] },
      { generationId: 7, memberId: 'm', groupInstanceId: null },
    );
    expect(buf.toString('hex')).toBe(
      hex(`
      00
      03 7478  02 67
      0000000000000005  0001
      00000007  02 6d  00
      02  02 74  02  00000002 000000000000000a ffffffff 00 00  00
      00`).toString('hex'),
    );
  });

  it('encodes "no generation" as -1 and an empty member id (the broker then checks nothing)', () => {
    const buf = encodeTxnOffsetCommitV3({ transactionalId: 'tx', groupId: 'g', producerId: 5, producerEpoch: 0, topics: [] }, NO_GENERATION);
    expect(buf.toString('hex')).toBe('00' + '037478' + '0267' + '0000000000000005' + '0000' + 'ffffffff' + '01' + '00' + '01' + '00');
  });

  it('decodes the response, tagged header first', () => {
    const r = decodeTxnOffsetCommitV3(hex('00 0000000a 02 02 74 03 00000002 0016 00 00000003 0000 00 00 00'));
    expect(r).toEqual({
      throttleTime: 0,
      clientSideThrottleTime: 10,
      topics: [{ topic: 't', partitions: [{ partition: 2, errorCode: 22 }, { partition: 3, errorCode: 0 }] }],
    });
  });
});

describe('OffsetFetch v7', () => {
  it('encodes the request with require_stable', () => {
    const buf = encodeOffsetFetchV7({ groupId: 'g', topics: markRequireStable([{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }]) });
    expect(buf.toString('hex')).toBe(hex('00 02 67 02 02 74 03 00000000 00000001 00 01 00').toString('hex'));
    expect(encodeOffsetFetchV7({ groupId: 'g', topics: null }, false).toString('hex')).toBe('00026700' + '00' + '00');
  });

  it('asks for stable offsets only where the consumer marked its topics (admin reads get the last committed offset)', () => {
    const topics = [{ topic: 't', partitions: [{ partition: 0 }] }];
    expect(requiresStable(topics)).toBe(false);
    const unmarked = encodeOffsetFetchV7({ groupId: 'g', topics });
    expect(unmarked[unmarked.length - 2]).toBe(0); // require_stable false, then the empty tag buffer
    const marked = encodeOffsetFetchV7({ groupId: 'g', topics: markRequireStable([...topics]) });
    expect(marked[marked.length - 2]).toBe(1);
  });

  it('decodes the response', () => {
    const r = decodeOffsetFetchV7(hex('00 00000000 02 02 74 03 00000000 000000000000002a ffffffff 01 0000 00 00000001 ffffffffffffffff ffffffff 00 0058 00 00 0000 00'));
    expect(r.errorCode).toBe(0);
    expect(r.responses).toEqual([
      {
        topic: 't',
        partitions: [
          { partition: 0, offset: '42', metadata: '', errorCode: 0 },
          { partition: 1, offset: '-1', metadata: null, errorCode: 88 },
        ],
      },
    ]);
  });
});

describe('installation into kafkajs 2.2.4', () => {
  it('registers the versions so lookupRequest picks them and falls back below them', () => {
    expect(kip447Installed).toBe(true);
    const { lookup, requests } = require('kafkajs/src/protocol/requests/index.js');
    const apiKeys = require('kafkajs/src/protocol/requests/apiKeys.js');
    const newer = lookup({ [apiKeys.TxnOffsetCommit]: { maxVersion: 4 }, [apiKeys.OffsetFetch]: { maxVersion: 9 } });
    expect(newer(apiKeys.TxnOffsetCommit, requests.TxnOffsetCommit)({ transactionalId: 'x', groupId: 'g', producerId: 1, producerEpoch: 0, topics: [] }).request.apiVersion).toBe(3);
    expect(newer(apiKeys.OffsetFetch, requests.OffsetFetch)({ groupId: 'g', topics: [] }).request.apiVersion).toBe(7);
    const older = lookup({ [apiKeys.TxnOffsetCommit]: { maxVersion: 2 }, [apiKeys.OffsetFetch]: { maxVersion: 6 } });
    expect(older(apiKeys.TxnOffsetCommit, requests.TxnOffsetCommit)({ transactionalId: 'x', groupId: 'g', producerId: 1, producerEpoch: 0, topics: [] }).request.apiVersion).toBe(1);
    expect(older(apiKeys.OffsetFetch, requests.OffsetFetch)({ groupId: 'g', topics: [] }).request.apiVersion).toBe(4);
  });

  it('carries the generation through the topics array into the request', async () => {
    const { lookup, requests } = require('kafkajs/src/protocol/requests/index.js');
    const apiKeys = require('kafkajs/src/protocol/requests/apiKeys.js');
    const topics = withGeneration([{ topic: 't', partitions: [{ partition: 0, offset: '1' }] }], { generationId: 9, memberId: 'm', groupInstanceId: null });
    expect(Object.keys(topics)).toEqual(['0']);
    const req = lookup({ [apiKeys.TxnOffsetCommit]: { maxVersion: 3 } })(apiKeys.TxnOffsetCommit, requests.TxnOffsetCommit)({
      transactionalId: 'x',
      groupId: 'g',
      producerId: 1,
      producerEpoch: 0,
      topics,
    }).request;
    const buf: Buffer = (await req.encode()).buffer;
    // after header tags, "x", "g", producer id, epoch: the generation
    expect(buf.readInt32BE(1 + 2 + 2 + 8 + 2)).toBe(9);
  });

  it('sends the oldest generation of a mixed group', () => {
    const a = { generationId: 4, memberId: 'a', groupInstanceId: null };
    const b = { generationId: 5, memberId: 'a', groupInstanceId: null };
    expect(oldestGeneration([b, a, b])).toBe(a);
    expect(oldestGeneration([])).toBe(NO_GENERATION);
  });
});
