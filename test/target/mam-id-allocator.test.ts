// MAM ids per archive: a tie or a step back in time gets the previous id + 1 µs, in source order; archives
// are remembered least-recently-used first, 4096 at once. The allocator keeps the current archive out of
// its map (a fast path per message): it must give exactly what the plain rule gives, whatever the order.
import { describe, expect, it } from 'vitest';
import { MamIdAllocator } from '../../src/target/mongooseim/mam-id-allocator.js';

/** The rule itself, written plainly: the model the allocator must match. */
class PlainRule {
  private readonly last = new Map<string, bigint>();
  next(archive: string, micros: bigint): bigint {
    const previous = this.last.get(archive);
    const assigned = previous !== undefined && micros <= previous ? previous + 1n : micros;
    if (previous !== undefined) this.last.delete(archive);
    else if (this.last.size >= 4096) this.last.delete(this.last.keys().next().value!);
    this.last.set(archive, assigned);
    return assigned;
  }
}

describe('MamIdAllocator', () => {
  it('gives ties and steps back the next µs, in order', () => {
    const allocator = new MamIdAllocator();
    expect([10n, 10n, 10n, 5n, 20n].map((t) => allocator.next('a', t))).toEqual([10n, 11n, 12n, 13n, 20n]);
    expect(allocator.next('b', 10n)).toBe(10n);
    expect(allocator.next('a', 20n)).toBe(21n);
  });

  it('matches the plain rule over runs, interleavings and more archives than it remembers', () => {
    let seed = 3;
    const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const allocator = new MamIdAllocator();
    const model = new PlainRule();
    let archive = 'x0';
    for (let i = 0; i < 200_000; i++) {
      // Mostly runs of one archive; sometimes a jump to one of 6,000 (past the 4,096 remembered).
      if (random() < 0.05) archive = `x${Math.floor(random() * (random() < 0.5 ? 8 : 6000))}`;
      const micros = BigInt(1_000_000 + Math.floor(random() * 50));
      expect(allocator.next(archive, micros)).toBe(model.next(archive, micros));
    }
  });

  it('restores one archive from a checkpoint and forgets the rest', () => {
    const allocator = new MamIdAllocator();
    allocator.next('a', 100n);
    allocator.next('b', 100n);
    allocator.restore({ archive: 'a', micros: '500' });
    expect(allocator.next('a', 100n)).toBe(501n);
    expect(allocator.next('b', 100n)).toBe(100n);
  });
});
