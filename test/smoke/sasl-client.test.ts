// The SCRAM client against the RFCs' own exchanges (RFC 5802 §5 for SHA-1, RFC 7677 §3 for SHA-256).
import { describe, expect, it } from 'vitest';
import { ScramClient, plainMessage } from '../../src/xmpp/sasl-client.js';

const cases = [
  {
    mechanism: 'SCRAM-SHA-1' as const,
    nonce: 'fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    mechanism: 'SCRAM-SHA-256' as const,
    nonce: 'rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
];

describe('SCRAM client', () => {
  it.each(cases)('computes the $mechanism proof of the RFC example and checks the server signature', (c) => {
    const client = new ScramClient(c.mechanism, 'user', 'pencil', c.nonce);
    expect(client.first().toString()).toBe(`n,,n=user,r=${c.nonce}`);
    expect(client.final(Buffer.from(c.serverFirst)).toString()).toBe(c.clientFinal);
    expect(client.verify(Buffer.from(c.serverFinal))).toBe(true);
    expect(client.verify(Buffer.from('v=AAAA'))).toBe(false);
  });

  it('refuses a server nonce that does not extend its own', () => {
    const client = new ScramClient('SCRAM-SHA-1', 'user', 'pencil', 'abc');
    expect(() => client.final(Buffer.from('r=xyz123,s=QSXCR+Q6sek8bf92,i=4096'))).toThrow(/malformed/);
  });

  it('escapes = and , in the user name, and builds PLAIN', () => {
    expect(new ScramClient('SCRAM-SHA-512', 'a=b,c', 'pw', 'n').first().toString()).toBe('n,,n=a=3Db=2Cc,r=n');
    expect(plainMessage('alice', 'sécret').toString('utf8')).toBe('\0alice\0sécret');
  });
});
