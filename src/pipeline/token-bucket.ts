// A token bucket for `--rate` (records per second): taken per batch, so the hot path never waits per record.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly ratePerSecond: number, private readonly now: () => number = () => performance.now()) {
    this.tokens = ratePerSecond;
    this.last = now();
  }

  /** Waits until `count` tokens are available, then takes them. Counts above one second's worth go into debt. */
  async take(count: number, signal?: AbortSignal): Promise<void> {
    this.refill();
    this.tokens -= count;
    if (this.tokens >= 0) return;
    const waitMs = (-this.tokens / this.ratePerSecond) * 1000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    this.refill();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.ratePerSecond, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }
}
