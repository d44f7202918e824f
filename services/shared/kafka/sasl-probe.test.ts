import { describe, expect, it } from 'vitest';
import { kafkaRequest, parseAuthenticate, parseFindCoordinator, parseHandshake, scramClientFinal, scramClientFirst } from './sasl-probe.ts';

describe('SCRAM client (RFC 5802)', () => {
  it("computes RFC 7677's SCRAM-SHA-256 example exchange", () => {
    const first = scramClientFirst('user', 'rOprNGfwEbeRWgbNEkqO');
    expect(first.message).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
    expect(scramClientFinal('sha256', 'pencil', first.bare, serverFirst, 'rOprNGfwEbeRWgbNEkqO')).toBe(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
  });

  it('escapes = and , in the user name and refuses a server nonce that does not extend its own', () => {
    expect(scramClientFirst('a=b,c', 'n').bare).toBe('n=a=3Db=2Cc,r=n');
    expect(() => scramClientFinal('sha512', 'x', 'n=u,r=abc', 'r=zzz,s=AAAA,i=4096', 'abc')).toThrow(/malformed/);
  });
});

describe('Kafka framing of the SASL requests', () => {
  it('writes a v1 request header and reads the handshake and authenticate responses', () => {
    const req = kafkaRequest(17, 1, 7, 'cid', Buffer.from([0, 2, 0x41, 0x42]));
    expect(req.readInt32BE(0)).toBe(req.length - 4);
    expect([req.readInt16BE(4), req.readInt16BE(6), req.readInt32BE(8), req.readInt16BE(12)]).toEqual([17, 1, 7, 3]);
    // correlation id, error 33, ["PLAIN", "SCRAM-SHA-512"]
    const hs = Buffer.concat([Buffer.from([0, 0, 0, 7, 0, 33, 0, 0, 0, 2, 0, 5]), Buffer.from('PLAIN'), Buffer.from([0, 13]), Buffer.from('SCRAM-SHA-512')]);
    expect(parseHandshake(hs)).toEqual({ errorCode: 33, mechanisms: ['PLAIN', 'SCRAM-SHA-512'] });
    const au = Buffer.concat([Buffer.from([0, 0, 0, 7, 0, 58, 0, 3]), Buffer.from('bad'), Buffer.from([0, 0, 0, 0]), Buffer.alloc(8)]);
    expect(parseAuthenticate(au)).toEqual({ errorCode: 58, message: 'bad', authBytes: Buffer.alloc(0) });
  });
});

describe('parseFindCoordinator', () => {
  it('reads the error code after the correlation id and throttle time', () => {
    // correlation id, throttle_time_ms, error_code 30 (GROUP_AUTHORIZATION_FAILED), then the rest of v1
    const r = Buffer.alloc(4 + 4 + 2 + 2 + 4 + 2 + 4);
    r.writeInt32BE(7, 0);
    r.writeInt32BE(0, 4);
    r.writeInt16BE(30, 8);
    r.writeInt16BE(-1, 10);
    expect(parseFindCoordinator(r)).toEqual({ errorCode: 30 });
    r.writeInt16BE(0, 8);
    expect(parseFindCoordinator(r).errorCode).toBe(0);
  });
});
