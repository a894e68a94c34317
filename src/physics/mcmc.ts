/**
 * Seeded Markov chain Monte Carlo for p(x) ∝ exp(−u(x)/kT), many chains at once (one tensor call
 * per step for the whole batch): random-walk Metropolis, and the Metropolis-adjusted Langevin
 * algorithm (MALA), whose proposal x' = x − ε∇u(x)/kT + √(2ε)ξ follows the energy's gradient.
 *
 * References: Metropolis, Rosenbluth, Rosenbluth, Teller, Teller, J. Chem. Phys. 21 (1953);
 * Roberts, Tweedie, "Exponential convergence of Langevin distributions and their discrete
 * approximations", Bernoulli 2 (1996).
 */
import seedrandom from 'seedrandom';
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import { energyGrad } from './potentials.js';

/** Settings of {@link mcmc}. */
export interface McmcOptions {
  /** Steps per chain after burn-in. */
  steps: number;
  /** Metropolis: the proposal's standard deviation; MALA: the Langevin time step ε. */
  stepSize: number;
  kT?: number;
  method?: 'metropolis' | 'mala';
  burnIn?: number;
  /** Keep every `thin`-th state (default 1). */
  thin?: number;
  seed?: number;
}

/** What {@link mcmc} returns. */
export interface McmcResult {
  /** Row-major `[chains · kept, dim]`: the kept states, step by step (all chains per step). */
  samples: Float32Array;
  /** Fraction of accepted proposals after burn-in. */
  acceptance: number;
  /** The chains' final states. */
  last: Float32Array;
}

function normal(u: () => number): number {
  let a = 0;
  while (a === 0) a = u();
  return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * u());
}

/**
 * Runs `x0.length / dim` chains from the rows of x0 (`[chains, dim]`, row-major) on the energy u.
 *
 * @example
 * ```ts
 * import { mcmc, DOUBLE_WELL } from 'biflow';
 *
 * const x0 = new Float32Array(2 * 8).fill(0.5);   // 8 chains in 2-D, all starting at (0.5, 0.5)
 * const { samples, acceptance } = mcmc((x) => DOUBLE_WELL.energy(x), x0, 2, { steps: 200, stepSize: 0.05, method: 'mala', seed: 1 });
 * samples.length / 2;   // 8 chains × 200 kept states
 * acceptance;
 * ```
 */
export function mcmc(energy: (x: tf.Tensor2D) => tf.Tensor1D, x0: Float32Array, dim: number, opts: McmcOptions): McmcResult {
  const fn = 'mcmc';
  const { steps, stepSize, kT = 1, method = 'mala', burnIn = 0, thin = 1, seed = 0 } = opts;
  const chains = x0.length / dim;
  if (!Number.isInteger(chains) || chains < 1) throw new InvalidArgumentError(fn, 'x0', x0.length, `must hold whole rows of dim ${dim} values, got {value} values.`);
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidArgumentError(fn, 'steps', steps, 'must be a positive integer, got {value}.');
  if (!(stepSize > 0)) throw new InvalidArgumentError(fn, 'stepSize', stepSize, 'must be a positive number, got {value}. Try 0.01–0.1 and aim for 50–80 % acceptance.');
  if (!(kT > 0)) throw new InvalidArgumentError(fn, 'kT', kT, 'must be a positive temperature, got {value}.');
  if (!Number.isInteger(thin) || thin < 1) throw new InvalidArgumentError(fn, 'thin', thin, 'must be a positive integer, got {value}.');
  if (method !== 'mala' && method !== 'metropolis') throw new InvalidArgumentError(fn, 'method', method, "must be 'mala' or 'metropolis', got {value}.");
  const u = seedrandom.alea(`mcmc:${seed}`);
  const mala = method === 'mala';
  // Energy (and, for MALA, ∇u/kT) of every chain at once, read back to float64 arrays.
  const evaluate = (x: Float32Array): { e: Float32Array; g: Float32Array | null } => {
    const t = tf.tensor2d(x, [chains, dim]);
    const e = tf.tidy(() => energy(t));
    const g = mala ? energyGrad(energy, t) : null;
    const out = { e: e.dataSync() as Float32Array, g: g ? (g.dataSync() as Float32Array) : null };
    tf.dispose([t, e, g ?? []]);
    return out;
  };
  let x = Float32Array.from(x0);
  const cur = evaluate(x);
  const kept: Float32Array[] = [];
  let accepted = 0;
  const prop = new Float32Array(x.length);
  const noise = new Float64Array(x.length);
  for (let s = 0; s < burnIn + steps; s++) {
    for (let k = 0; k < x.length; k++) {
      noise[k] = normal(u);
      prop[k] = mala ? x[k]! - (stepSize * cur.g![k]!) / kT + Math.sqrt(2 * stepSize) * noise[k]! : x[k]! + stepSize * noise[k]!;
    }
    const next = evaluate(prop);
    const xNew = Float32Array.from(x);
    for (let c = 0; c < chains; c++) {
      let logA = -(next.e[c]! - cur.e[c]!) / kT;
      if (mala) {
        // log q(x | x') − log q(x' | x), q(b | a) = N(b; a − ε∇u(a)/kT, 2ε).
        let fwd = 0;
        let bwd = 0;
        for (let d = 0; d < dim; d++) {
          const k = c * dim + d;
          fwd += noise[k]! ** 2 / 2;
          bwd += (x[k]! - prop[k]! + (stepSize * next.g![k]!) / kT) ** 2 / (4 * stepSize);
        }
        logA += fwd - bwd;
      }
      if (Number.isFinite(next.e[c]!) && Math.log(u()) < logA) {
        xNew.set(prop.subarray(c * dim, (c + 1) * dim), c * dim);
        cur.e[c] = next.e[c]!;
        if (mala) cur.g!.set(next.g!.subarray(c * dim, (c + 1) * dim), c * dim);
        if (s >= burnIn) accepted++;
      }
    }
    x = xNew;
    if (s >= burnIn && (s - burnIn) % thin === thin - 1) kept.push(Float32Array.from(x));
  }
  const samples = new Float32Array(kept.length * x.length);
  kept.forEach((k, i) => samples.set(k, i * x.length));
  return { samples, acceptance: accepted / (steps * chains), last: x };
}
