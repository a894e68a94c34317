/**
 * Timing helpers on tinybench: medians only, and ratios of two functions measured side by side
 * in the same run (alternating order over rounds, median of the per-round ratios).
 */
import { Bench } from 'tinybench';

export interface TimingOptions {
  /** Time budget per task and round, ms. */
  time?: number;
  /** Minimum iterations per task and round. */
  iterations?: number;
}

async function medians(tasks: [string, () => unknown][], { time = 100, iterations = 10 }: TimingOptions): Promise<number[]> {
  const bench = new Bench({ time, iterations, warmupTime: Math.min(50, time), warmupIterations: 3 });
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  return bench.tasks.map((task) => {
    const r = task.result as { state: string; latency?: { p50: number }; error?: unknown };
    if (r.state !== 'completed' || !r.latency) throw new Error(`benchmark task ${task.name} failed: ${String(r.error ?? r.state)}`);
    return r.latency.p50;
  });
}

/** Median latency of fn, in ms. */
export async function medianMs(fn: () => unknown, opts: TimingOptions = {}): Promise<number> {
  return (await medians([['task', fn]], opts))[0]!;
}

/** Median over `rounds` of p50(a) / p50(b), with a and b timed in the same bench, order alternating. */
export async function sideBySide(a: () => unknown, b: () => unknown, rounds = 3, opts: TimingOptions = {}): Promise<{ ratio: number; aMs: number; bMs: number }> {
  const ratios: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const swap = r % 2 === 1;
    const [x, y] = await medians(swap ? [['b', b], ['a', a]] : [['a', a], ['b', b]], opts);
    const [ta, tb] = swap ? [y!, x!] : [x!, y!];
    as.push(ta);
    bs.push(tb);
    ratios.push(ta / tb);
  }
  return { ratio: median(ratios), aMs: median(as), bMs: median(bs) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
