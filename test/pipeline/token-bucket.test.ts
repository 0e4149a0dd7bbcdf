import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/pipeline/token-bucket.js';

describe('TokenBucket', () => {
  it('lets a second of records through at once, then holds the rate', async () => {
    let now = 0;
    const bucket = new TokenBucket(1000, () => now);
    const started = performance.now();
    await bucket.take(1000);
    expect(performance.now() - started).toBeLessThan(20);
    // 100 more tokens at 1000/s with no time passed: a 100 ms wait.
    const waited = performance.now();
    await bucket.take(100);
    expect(performance.now() - waited).toBeGreaterThanOrEqual(95);
    now += 1000;
    const refilled = performance.now();
    await bucket.take(500);
    expect(performance.now() - refilled).toBeLessThan(20);
  });
});
