/**
 * Sample-quality figures for comparing samplers: the energy distance between two samples, and the
 * report on a flow's two samplers (exact inverse vs learned generator).
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { Flow } from '../flows/flow.js';
import { readValues, runDeferred } from '../backend/reads.js';
import { both, runSteps, runStepsAsync } from './steps.js';
import type { Steps } from './steps.js';

/**
 * Energy distance 2·E‖X − Y‖ − E‖X − X′‖ − E‖Y − Y′‖ between the rows of a and b (row-major,
 * `dim` columns), in float64, with the within-sample means over distinct pairs (unbiased).
 * Zero exactly when the distributions agree (Székely & Rizzo, "Energy statistics", 2013).
 *
 * @example
 * ```ts
 * import { energyDistance, toyData } from 'biflow';
 *
 * energyDistance(toyData('8gaussians', 500, 1), toyData('8gaussians', 500, 2), 2); // ≈ 0: same distribution
 * energyDistance(toyData('8gaussians', 500, 1), toyData('moons', 500, 2), 2);      // clearly > 0
 * ```
 */
export function energyDistance(a: ArrayLike<number>, b: ArrayLike<number>, dim: number): number {
  const fn = 'energyDistance';
  const n = a.length / dim;
  const m = b.length / dim;
  if (!Number.isInteger(n) || n < 2) throw new InvalidArgumentError(fn, 'a', a.length, `must hold at least two whole rows of ${dim} values, got {value} values.`);
  if (!Number.isInteger(m) || m < 2) throw new InvalidArgumentError(fn, 'b', b.length, `must hold at least two whole rows of ${dim} values, got {value} values.`);
  const meanDistance = (x: ArrayLike<number>, nx: number, y: ArrayLike<number>, ny: number, same: boolean): number => {
    let total = 0;
    for (let i = 0; i < nx; i++) {
      for (let j = same ? i + 1 : 0; j < ny; j++) {
        let s = 0;
        for (let k = 0; k < dim; k++) {
          const d = x[i * dim + k]! - y[j * dim + k]!;
          s += d * d;
        }
        total += Math.sqrt(s);
      }
    }
    return same ? total / ((nx * (nx - 1)) / 2) : total / (nx * ny);
  };
  return 2 * meanDistance(a, n, b, m, false) - meanDistance(a, n, a, n, true) - meanDistance(b, m, b, m, true);
}

const median = (times: number[]): number => times.sort((x, y) => x - y)[Math.floor(times.length / 2)]!;

/** Median wall time of `repeats` runs of fn, in seconds. */
export function medianSeconds(fn: () => void, repeats: number): number {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    fn();
    times.push((performance.now() - start) / 1000);
  }
  return median(times);
}

/** {@link medianSeconds} of an async fn (each run awaited, so its device work is included). */
export async function medianSecondsAsync(fn: () => Promise<void>, repeats: number): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await fn();
    times.push((performance.now() - start) / 1000);
  }
  return median(times);
}

/** {@link samplerReport}'s figures; the generator's are null when the flow has none. */
export interface SamplerReport {
  samples: number;
  /** Energy distance of each sampler's samples to the held-out rows. */
  energyInverse: number;
  energyGenerator: number | null;
  /** Median seconds to draw `samples` points by each sampler, and their ratio. */
  secondsInverse: number;
  secondsGenerator: number | null;
  speedup: number | null;
  /** Mean ‖G(F(x)) − x‖ over held-out x, and mean ‖F(G(z)) − z‖ over z from the base. */
  reconstructionData: number | null;
  reconstructionLatent: number | null;
  /** Mean log-likelihood under F of each sampler's samples (exact, nats). */
  logProbInverse: number;
  logProbGenerator: number | null;
}

const rowNorms = (a: tf.Tensor2D, b: tf.Tensor2D): number => readValues(tf.mean(tf.norm(tf.sub(a, b), 'euclidean', 1)), 'samplerReport')[0]!;

/**
 * Compares the flow's exact-inverse sampler with its generator (when one is attached) on
 * held-out rows: energy distances, sampling time, reconstruction errors and likelihoods.
 *
 * @example
 * ```ts
 * import { createFlow, loadDataset, samplerReport } from 'biflow';
 *
 * const data = loadDataset('moons');
 * const flow = createFlow({ type: 'realnvp', dim: 2 });
 * const report = samplerReport(flow, data.test.subarray(0, 2 * 500), { samples: 200, repeats: 1 });
 * report.energyInverse;  // energy distance of the inverse sampler's draws to the held-out rows
 * ```
 */
export function samplerReport(flow: Flow, heldOut: Float32Array, options: SamplerReportOptions = {}): SamplerReport {
  return runSteps(reportSteps(flow, heldOut, options));
}

/**
 * {@link samplerReport} on any backend, WebGPU included: the same figures, its solves and reads
 * awaited (the timings are of `Flow.sampleAsync`).
 *
 * @example
 * ```ts
 * import { createFlow, loadDataset, samplerReportAsync } from 'biflow';
 *
 * const data = loadDataset('moons');
 * const flow = createFlow({ type: 'realnvp', dim: 2 });
 * const report = await samplerReportAsync(flow, data.test.subarray(0, 2 * 500), { samples: 200, repeats: 1 });
 * report.energyInverse;
 * ```
 */
export function samplerReportAsync(flow: Flow, heldOut: Float32Array, options: SamplerReportOptions = {}): Promise<SamplerReport> {
  return runStepsAsync(reportSteps(flow, heldOut, options));
}

/** Options of {@link samplerReport}: samples per sampler, their seed, timing repeats (median). */
export interface SamplerReportOptions {
  samples?: number;
  seed?: number;
  repeats?: number;
}

function* reportSteps(flow: Flow, heldOut: Float32Array, { samples = 1000, seed = 0, repeats = 3 }: SamplerReportOptions): Steps<SamplerReport> {
  const d = flow.dim;
  const rows = Math.min(samples, heldOut.length / d);
  const ref = heldOut.subarray(0, rows * d);
  // Device reads through readValues: dataSync where the backend can, else answered by runDeferred.
  const drawn = (via: 'inverse' | 'generator') => () => {
    const s = flow.sample(samples, { seed, via });
    const data = Float32Array.from(readValues(tf.clone(s), 'samplerReport'));
    const logProb = readValues(tf.tidy(() => tf.mean(flow.logProb(s))), 'samplerReport')[0]!;
    s.dispose();
    return { data, logProb };
  };
  function* draw(via: 'inverse' | 'generator') {
    const { data, logProb } = yield* both(drawn(via), () => runDeferred(drawn(via)));
    const seconds = yield* both(
      () => medianSeconds(() => flow.sample(samples, { seed, via }).dispose(), repeats),
      () => medianSecondsAsync(async () => (await flow.sampleAsync(samples, { seed, via })).dispose(), repeats),
    );
    return { data, logProb, seconds };
  }
  const inv = yield* draw('inverse');
  const report: SamplerReport = {
    samples, energyInverse: energyDistance(inv.data, ref, d), energyGenerator: null, secondsInverse: inv.seconds, secondsGenerator: null, speedup: null,
    reconstructionData: null, reconstructionLatent: null, logProbInverse: inv.logProb, logProbGenerator: null,
  };
  const g = flow.generator;
  if (!g) return report;
  const gen = yield* draw('generator');
  const reconstructions = () => {
    const x = tf.tensor2d(ref, [rows, d]);
    const z = flow.base.sample(samples, seed + 1);
    try {
      return [tf.tidy(() => rowNorms(g.generate(flow.bijector.forward(x).y), x)), tf.tidy(() => rowNorms(flow.bijector.forward(g.generate(z)).y, z))];
    } finally {
      tf.dispose([x, z]);
    }
  };
  const [reconstructionData, reconstructionLatent] = yield* both(reconstructions, () => runDeferred(reconstructions));
  return {
    ...report, energyGenerator: energyDistance(gen.data, ref, d), secondsGenerator: gen.seconds, speedup: inv.seconds / gen.seconds,
    reconstructionData: reconstructionData!, reconstructionLatent: reconstructionLatent!, logProbGenerator: gen.logProb,
  };
}
