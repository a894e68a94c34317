/**
 * Free-energy differences between two states of a 2-D Boltzmann distribution p ∝ exp(−u/kT):
 * exactly by quadrature on a grid, and from samples of a proposal q by importance reweighting,
 * with the effective sample size of the weights w = exp(−u/kT − log q).
 *
 *   ΔF = F_B − F_A = −kT log(Z_B / Z_A),   Z_S = ∫_S exp(−u/kT) dx.
 *
 * Reference: Noé, Olsson, Köhler, Wu, "Boltzmann generators", Science 365 (2019),
 * arXiv:1812.01729; Kish, "Survey Sampling" (1965) for the effective sample size.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Potential } from './potentials.js';

/**
 * ΔF and P(B) by the midpoint rule on an n×n grid over the potential's extent, in float64.
 *
 * @example
 * ```ts
 * import { quadratureFreeEnergy, DOUBLE_WELL } from 'biflow';
 *
 * const { deltaF, pB } = quadratureFreeEnergy(DOUBLE_WELL, DOUBLE_WELL.kT, 400);
 * [deltaF, pB];   // F_B − F_A in units of energy, and the probability of state B
 * ```
 */
export function quadratureFreeEnergy(p: Pick<Potential, 'energy64' | 'state' | 'extent'>, kT: number, n = 1000): { deltaF: number; pB: number } {
  if (!Number.isInteger(n) || n < 10) throw new InvalidArgumentError('quadratureFreeEnergy', 'n', n, 'must be an integer ≥ 10 grid cells per side, got {value}.');
  const [x0, x1, y0, y1] = p.extent;
  const hx = (x1 - x0) / n;
  const hy = (y1 - y0) / n;
  // Shift by the grid's minimum energy so that exp never overflows.
  let umin = Infinity;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) umin = Math.min(umin, p.energy64(x0 + (i + 0.5) * hx, y0 + (j + 0.5) * hy));
  const z = [0, 0];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = x0 + (i + 0.5) * hx;
      const y = y0 + (j + 0.5) * hy;
      z[p.state(x, y)] += Math.exp(-(p.energy64(x, y) - umin) / kT);
    }
  }
  return { deltaF: -kT * Math.log(z[1]! / z[0]!), pB: z[1]! / (z[0]! + z[1]!) };
}

/**
 * log w = −u/kT − log q of each sample, and the effective sample size (Σw)²/Σw² (and per sample).
 *
 * @example
 * ```ts
 * import { importanceWeights } from 'biflow';
 *
 * // a proposal q equal to p (up to a constant) gives equal weights: ESS = all samples
 * const u = [0.5, 1, 2];
 * const { ess, essFraction } = importanceWeights(u, u.map((v) => -v), 1);
 * [ess, essFraction];   // [3, 1]
 * ```
 */
export function importanceWeights(energies: ArrayLike<number>, logQ: ArrayLike<number>, kT: number): { logW: Float64Array; ess: number; essFraction: number } {
  const n = energies.length;
  if (logQ.length !== n || n === 0) throw new InvalidArgumentError('importanceWeights', 'logQ', logQ.length, `must have one value per energy (${n}), got {value}.`);
  const logW = Float64Array.from({ length: n }, (_, i) => -energies[i]! / kT - logQ[i]!);
  let max = -Infinity;
  for (const v of logW) if (v > max) max = v;
  let s1 = 0;
  let s2 = 0;
  for (const v of logW) {
    const w = Math.exp(v - max);
    s1 += w;
    s2 += w * w;
  }
  const ess = s2 > 0 ? (s1 * s1) / s2 : 0;
  return { logW, ess, essFraction: ess / n };
}

/**
 * ΔF = −kT log(Σ_B w / Σ_A w) from log-weights and the state (0 = A, 1 = B) of each sample.
 *
 * @example
 * ```ts
 * import { reweightedFreeEnergy } from 'biflow';
 *
 * // equal weights, one sample in A (state 0) and three in B: ΔF = −kT log 3
 * reweightedFreeEnergy([0, 0, 0, 0], [0, 1, 1, 1], 1);   // ≈ −1.0986
 * ```
 */
export function reweightedFreeEnergy(logW: ArrayLike<number>, states: ArrayLike<number>, kT: number): number {
  let max = -Infinity;
  for (let i = 0; i < logW.length; i++) if (logW[i]! > max) max = logW[i]!;
  const z = [0, 0];
  for (let i = 0; i < logW.length; i++) z[states[i]! ? 1 : 0] += Math.exp(logW[i]! - max);
  return -kT * Math.log(z[1]! / z[0]!);
}
