/**
 * Two simulators of sbibm (Lueckmann et al., "Benchmarking simulation-based inference", 2021)
 * with posteriors known exactly, for the SBI example: each has a prior sampler, a simulator, and
 * for an observation x_o the true posterior's log-density and an exact sampler.
 *
 * - gaussian_mixture: θ ~ U[−10, 10]², x | θ ~ ½ N(θ, I) + ½ N(θ, 0.01 I). The posterior is the
 *   same two-component mixture centred at x_o, truncated to the box; the truncation reweights the
 *   components by their mass P_σ in the box, so the normaliser Z = ½ P₁ + ½ P₀.₁ is closed-form.
 * - two_moons: θ ~ U[−1, 1]², a ~ U(−π/2, π/2), r ~ N(0.1, 0.01²), p = (r cos a + 0.25, r sin a),
 *   x = p + (−|θ₁ + θ₂|/√2, (θ₂ − θ₁)/√2). Bimodal and crescent-shaped: not Gaussian. Given x_o,
 *   θ ↦ p is affine with |det| = 1 on each sign of θ₁ + θ₂, so drawing p and a sign and keeping
 *   the θ inside the box samples the posterior exactly; its density is p's (N(r; 0.1, 0.01²)/(π r)
 *   for p₁ > 0.25) over Z = 2·P(accept), the acceptance rate measured on 10⁶ proposals.
 */
import { rng } from '../src/data/random.js';
import type { Rng } from '../src/data/random.js';

/** A simulator with a tractable posterior. */
export interface Task {
  name: string;
  /** Parameters θ ~ prior and data x ~ simulator(θ), n rows each, row-major [n, 2]. */
  simulate(n: number, seed: number): { theta: Float32Array; x: Float32Array };
  /** The true posterior given x_o: exact log-density (−Inf outside the prior's support) and exact samples. */
  posterior(xo: readonly number[]): { logProb(theta: readonly number[]): number; sample(n: number, seed: number): Float32Array };
  /** The prior's box [lo, hi] per coordinate (figures). */
  box: [number, number];
}

const LOG_2PI = Math.log(2 * Math.PI);

/** Standard normal CDF by the complementary error function (Numerical Recipes' erfc, |ε| < 1.2e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const y = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? 1 - y / 2 : y / 2;
}

const logSumExp = (a: number, b: number): number => (a === -Infinity && b === -Infinity ? -Infinity : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b))));

/** Rows of `n` draws of `draw` (each a [2] pair, or null to reject and draw again). */
function rows(n: number, r: Rng, draw: (r: Rng) => [number, number] | null): Float32Array {
  const out = new Float32Array(2 * n);
  for (let k = 0; k < n; ) {
    const v = draw(r);
    if (v) out.set(v, 2 * k++);
  }
  return out;
}

export const gaussianMixture: Task = {
  name: 'gaussian_mixture',
  box: [-10, 10],
  simulate(n, seed) {
    const r = rng(`gm-sim:${seed}`);
    const theta = rows(n, r, (g) => [-10 + 20 * g.uniform(), -10 + 20 * g.uniform()]);
    const x = new Float32Array(2 * n);
    for (let k = 0; k < n; k++) {
      const s = r.uniform() < 0.5 ? 1 : 0.1;
      x[2 * k] = theta[2 * k]! + s * r.normal();
      x[2 * k + 1] = theta[2 * k + 1]! + s * r.normal();
    }
    return { theta, x };
  },
  posterior(xo) {
    const mass = (s: number) => xo.reduce((p, m) => p * (normalCdf((10 - m) / s) - normalCdf((-10 - m) / s)), 1);
    const [p1, p01] = [mass(1), mass(0.1)];
    const logZ = Math.log(0.5 * p1 + 0.5 * p01);
    const logN = (t: readonly number[], s: number) => t.reduce((a, v, d) => a - 0.5 * ((v - xo[d]!) / s) ** 2 - Math.log(s) - 0.5 * LOG_2PI, 0);
    return {
      logProb: (t) => (t.every((v) => v >= -10 && v <= 10) ? logSumExp(Math.log(0.5) + logN(t, 1), Math.log(0.5) + logN(t, 0.1)) - logZ : -Infinity),
      sample: (n, seed) => {
        const r = rng(`gm-post:${seed}`);
        // Component by its truncated weight, then its normal restricted to the box by rejection (exact).
        return rows(n, r, (g) => {
          const s = g.uniform() < (0.5 * p1) / (0.5 * p1 + 0.5 * p01) ? 1 : 0.1;
          for (;;) {
            const t: [number, number] = [xo[0]! + s * g.normal(), xo[1]! + s * g.normal()];
            if (Math.abs(t[0]) <= 10 && Math.abs(t[1]) <= 10) return t;
          }
        });
      },
    };
  },
};

/** two_moons' p: a noisy half-circle of radius 0.1 around (0.25, 0). */
function moonPoint(r: Rng): [number, number] {
  const a = Math.PI * (r.uniform() - 0.5);
  const rad = 0.1 + 0.01 * r.normal();
  return [rad * Math.cos(a) + 0.25, rad * Math.sin(a)];
}

/** θ from p and a sign of θ₁ + θ₂ given x_o (x = p + (−|θ₁+θ₂|/√2, (θ₂−θ₁)/√2)), or null outside the prior or impossible. */
function moonTheta(p: readonly number[], sign: number, xo: readonly number[]): [number, number] | null {
  if (p[0]! < xo[0]!) return null;
  const s = sign * Math.SQRT2 * (p[0]! - xo[0]!);
  const d = Math.SQRT2 * (xo[1]! - p[1]!);
  const t: [number, number] = [(s - d) / 2, (s + d) / 2];
  return Math.abs(t[0]) <= 1 && Math.abs(t[1]) <= 1 ? t : null;
}

export const twoMoons: Task = {
  name: 'two_moons',
  box: [-1, 1],
  simulate(n, seed) {
    const r = rng(`tm-sim:${seed}`);
    const theta = rows(n, r, (g) => [-1 + 2 * g.uniform(), -1 + 2 * g.uniform()]);
    const x = new Float32Array(2 * n);
    for (let k = 0; k < n; k++) {
      const [t1, t2] = [theta[2 * k]!, theta[2 * k + 1]!];
      const p = moonPoint(r);
      x[2 * k] = p[0] - Math.abs(t1 + t2) / Math.SQRT2;
      x[2 * k + 1] = p[1] + (t2 - t1) / Math.SQRT2;
    }
    return { theta, x };
  },
  posterior(xo) {
    const r = rng(`tm-z:${xo.join(',')}`);
    let accepted = 0;
    const proposals = 1_000_000;
    for (let k = 0; k < proposals; k++) if (moonTheta(moonPoint(r), r.uniform() < 0.5 ? 1 : -1, xo)) accepted++;
    const logZ = Math.log((2 * accepted) / proposals);
    return {
      logProb: (t) => {
        if (!t.every((v) => v >= -1 && v <= 1)) return -Infinity;
        const u = xo[0]! + Math.abs(t[0]! + t[1]!) / Math.SQRT2 - 0.25;
        const v = xo[1]! - (t[1]! - t[0]!) / Math.SQRT2;
        if (u <= 0) return -Infinity;
        const rad = Math.hypot(u, v);
        return -0.5 * ((rad - 0.1) / 0.01) ** 2 - Math.log(0.01) - 0.5 * LOG_2PI - Math.log(Math.PI * rad) - logZ;
      },
      sample: (n, seed) => {
        const g = rng(`tm-post:${seed}`);
        return rows(n, g, (q) => moonTheta(moonPoint(q), q.uniform() < 0.5 ? 1 : -1, xo));
      },
    };
  },
};
