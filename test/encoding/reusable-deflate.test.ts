// The reused zlib state gives exactly deflateSync's bytes, for every size and for input that does not
// compress (the output outgrows the input), and the stream inflates back to the input.
import { randomBytes } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deflate } from '../../src/encoding/reusable-deflate.js';

describe('deflate with a reused zlib state', () => {
  const text = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `word${i % 97} `).join('').slice(0, n));
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from('x')],
    ['a short message term', text(180)],
    ['text past the 64 KB scratch', text(200_000)],
    ['random bytes (incompressible, output > input)', randomBytes(70_000)],
    ['random bytes, small', randomBytes(300)],
  ];
  it.each(cases)('%s', (_name, input) => {
    const ours = deflate(input);
    expect(ours.equals(deflateSync(input))).toBe(true);
    expect(inflateSync(ours).equals(input)).toBe(true);
  });

  it('keeps no state between inputs: interleaved sizes give the same bytes as one call each', () => {
    for (let i = 0; i < 200; i++) {
      const input = i % 3 === 0 ? randomBytes(i * 13) : text(i * 37);
      expect(deflate(input).equals(deflateSync(input))).toBe(true);
    }
  });
});
