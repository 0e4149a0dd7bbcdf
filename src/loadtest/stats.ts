// Latency statistics: nearest-rank percentiles over exact samples (a load test's sample counts stay small).
export interface LatencySummary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function summarise(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const r = (n: number): number => Math.round(n * 100) / 100;
  return {
    count: sorted.length,
    min: r(sorted[0] ?? 0),
    p50: r(percentile(sorted, 50)),
    p90: r(percentile(sorted, 90)),
    p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted[sorted.length - 1] ?? 0),
    mean: r(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0),
  };
}
