// The worker-thread compression gives, for a whole batch, exactly the bytes deflateSync gives for each input,
// and the messages it completes are the terms encodeExml makes in one go (which erl decodes: etf.test.ts).
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DeflatePool } from '../../src/encoding/deflate-pool.js';
import { compressedFromPlain, encodeExml } from '../../src/encoding/etf.js';
import { parseXml } from '../../src/xml/element.js';

const pool = new DeflatePool();
afterAll(() => pool.close());

describe('DeflatePool', () => {
  it('deflates a batch of mixed inputs into deflateSync bytes, in order', async () => {
    const inputs = [Buffer.alloc(0), Buffer.from('x'), randomBytes(5000), Buffer.from('abc '.repeat(20_000)), randomBytes(70_000), Buffer.from('the same words again '.repeat(40))];
    const outputs = await pool.deflateAll(inputs);
    expect(outputs).toHaveLength(inputs.length);
    for (let i = 0; i < inputs.length; i++) expect(outputs[i]!.equals(deflateSync(inputs[i]!))).toBe(true);
  });

  it('gives each input the same bytes whatever was compressed before it (a replayed batch must match)', async () => {
    const text = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `word${(i * seed) % 97} `).join('').slice(0, n));
    const probe = text(481, 1);
    const alone = (await pool.deflateAll([probe]))[0]!;
    for (let round = 0; round < 30; round++) {
      const before = [randomBytes(100 + round * 97), text(3000 + round * 131, round + 2), text(50 * round, 7)];
      const out = await pool.deflateAll([...before, probe]);
      expect(out.at(-1)!.equals(alone)).toBe(true);
    }
    expect(alone.equals(deflateSync(probe))).toBe(true);
  });

  it('completes compressed terms identical to encodeExml with compression, batches after batches', async () => {
    for (let round = 0; round < 5; round++) {
      const stanzas = Array.from({ length: 200 }, (_, i) =>
        parseXml(`<message xmlns='jabber:client' to='bob@example.com' type='chat' id='m${round}-${i}'><body>${'hello '.repeat(i % 50)}${i}</body></message>`),
      );
      const plain = stanzas.map((s) => encodeExml(s, { shape: 'exml4', compressed: false }));
      const zs = await pool.deflateAll(plain.map((p) => p.subarray(1)));
      for (let i = 0; i < stanzas.length; i++) {
        expect(compressedFromPlain(plain[i]!, zs[i]!).equals(encodeExml(stanzas[i]!, { shape: 'exml4', compressed: true }))).toBe(true);
      }
    }
  });
});
