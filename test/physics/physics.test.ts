import { describe, expect, it } from 'vitest';
import { tf } from '../../src/index.js';
import { DOUBLE_WELL, MUELLER_BROWN, energyGrad, importanceWeights, mcmc, quadratureFreeEnergy, regularizeEnergy, reverseKL, reweightedFreeEnergy } from '../../src/physics/index.js';
import type { Potential } from '../../src/physics/index.js';
import { rng } from '../../src/data/random.js';
import { leaks } from '../tensor-helpers.js';

/** Standard normal CDF Φ(x), by Simpson's rule on the density from −12 (error < 1e-12). */
function phi(x: number): number {
  const n = 20000;
  const a = -12;
  const h = (x - a) / n;
  let s = 0;
  for (let i = 0; i <= n; i++) s += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * Math.exp(-((a + i * h) ** 2) / 2);
  return (s * h) / 3 / Math.sqrt(2 * Math.PI);
}

const harmonic: Potential = {
  name: 'harmonic',
  energy: (x) => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(x), 1))) as tf.Tensor1D,
  energy64: (x, y) => 0.5 * (x * x + y * y),
  state: (x) => (x > 1 ? 1 : 0),
  extent: [-9, 9, -9, 9],
  kT: 1,
};

describe('potentials', () => {
  const points = [[-2.5, 0.3], [2.3, -1.1], [0.1, 0.0], [-0.56, 1.44], [0.62, 0.03], [-0.05, 0.47], [1.1, 1.9]];

  it.each([['double well', DOUBLE_WELL], ['Müller–Brown', MUELLER_BROWN]] as const)('%s: tensor energy equals the float64 one, its gradient equals central differences', (_name, p) => {
    const x = tf.tensor2d(points);
    const e = p.energy(x).dataSync();
    const g = energyGrad(p.energy, x).dataSync();
    x.dispose();
    const h = 1e-6;
    points.forEach(([a, b], i) => {
      const ref = p.energy64(a!, b!);
      expect(Math.abs(e[i]! - ref)).toBeLessThan(1e-5 * (1 + Math.abs(ref)));
      const gx = (p.energy64(a! + h, b!) - p.energy64(a! - h, b!)) / (2 * h);
      const gy = (p.energy64(a!, b! + h) - p.energy64(a!, b! - h)) / (2 * h);
      const scale = 1 + Math.hypot(gx, gy);
      expect(Math.abs(g[2 * i]! - gx) / scale).toBeLessThan(2e-4);
      expect(Math.abs(g[2 * i + 1]! - gy) / scale).toBeLessThan(2e-4);
    });
    expect(leaks(() => energyGrad(p.energy, tf.tidy(() => tf.zeros([3, 2])) as tf.Tensor2D))).toEqual([1, 1, 1]); // the zeros input only
  });

  it('places the minima where the literature has them', () => {
    // Müller–Brown: A (−0.558, 1.442) −146.70, B (0.623, 0.028) −108.17, C (−0.050, 0.467) −80.77.
    expect(MUELLER_BROWN.energy64(-0.558224, 1.441726)).toBeCloseTo(-146.6995, 3);
    expect(MUELLER_BROWN.energy64(0.623499, 0.028038)).toBeCloseTo(-108.1667, 3);
    expect(MUELLER_BROWN.energy64(-0.050011, 0.466694)).toBeCloseTo(-80.7678, 3);
    expect([MUELLER_BROWN.state(-0.558, 1.442), MUELLER_BROWN.state(0.623, 0.028), MUELLER_BROWN.state(-0.05, 0.467)]).toEqual([0, 1, 1]);
    // Double well: stationary points are the roots of x³ − 6x + 1.
    for (const r of [-2.52892, 0.16745, 2.36147]) expect(Math.abs(r ** 3 - 6 * r + 1)).toBeLessThan(1e-3);
    expect([DOUBLE_WELL.state(-2.5, 0), DOUBLE_WELL.state(2.4, 0)]).toEqual([0, 1]);
  });

  it('regularizeEnergy is u below the cut and high + log(1 + u − high) above it', () => {
    const out = tf.tidy(() => regularizeEnergy(tf.tensor1d([5, 100, 1100]), 100).dataSync());
    expect(out[0]).toBeCloseTo(5, 5);
    expect(out[1]).toBeCloseTo(100, 4);
    expect(out[2]).toBeCloseTo(100 + Math.log(1001), 3);
  });
});

describe('free energies', () => {
  it('quadrature gives −kT log(Z_B/Z_A) of a Gaussian split at x = 1 (a cell edge of the 900-cell grid)', () => {
    const pB = 1 - phi(1);
    const { deltaF, pB: q } = quadratureFreeEnergy(harmonic, 1, 900);
    expect(q).toBeCloseTo(pB, 5);
    expect(deltaF).toBeCloseTo(-Math.log(pB / (1 - pB)), 4);
    // At kT = 2 the Gaussian is N(0, 2I): P(x > 1) = 1 − Φ(1/√2).
    const pB2 = 1 - phi(Math.SQRT1_2);
    expect(quadratureFreeEnergy(harmonic, 2, 900).deltaF).toBeCloseTo(-2 * Math.log(pB2 / (1 - pB2)), 4);
  });

  it("the double well's ΔF on the 2-D grid equals a 1-D Simpson integral over x (y separates out)", () => {
    // u(x, y) = v(x) + y²/2, so Z_B/Z_A = ∫_{x>b} e^{−v} / ∫_{x<b} e^{−v} with b the barrier top.
    const v = (x: number) => 0.25 * x ** 4 - 3 * x * x + x;
    const simpson = (a: number, b: number, n = 20000) => {
      const h = (b - a) / n;
      let acc = 0;
      for (let i = 0; i <= n; i++) acc += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * Math.exp(-v(a + i * h));
      return (acc * h) / 3;
    };
    const b = 0.167449;
    const exact = -Math.log(simpson(b, 6) / simpson(-6, b));
    expect(quadratureFreeEnergy(DOUBLE_WELL, 1, 800).deltaF).toBeCloseTo(exact, 2);
  });

  it('reweighting N(0, 1.5²I) samples recovers ΔF, and the ESS matches (√(2s²−1)/s²)^d', () => {
    const r = rng(3);
    const n = 40000;
    const s = 1.5;
    const e = new Float64Array(n);
    const logQ = new Float64Array(n);
    const states = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const [a, b] = [s * r.normal(), s * r.normal()];
      e[i] = harmonic.energy64(a, b);
      logQ[i] = -(a * a + b * b) / (2 * s * s) - Math.log(2 * Math.PI * s * s);
      states[i] = harmonic.state(a, b);
    }
    const { logW, essFraction } = importanceWeights(e, logQ, 1);
    expect(essFraction).toBeCloseTo((Math.sqrt(2 * s * s - 1) / (s * s)) ** 2, 1.5);
    const exact = quadratureFreeEnergy(harmonic, 1, 400).deltaF;
    expect(Math.abs(reweightedFreeEnergy(logW, states, 1) - exact)).toBeLessThan(0.05);
  });
});

describe('reverse KL', () => {
  it('equals −log Z with zero spread when the model is the Boltzmann distribution itself', () => {
    // q = N(0, I) is exactly exp(−|x|²/2)/Z with Z = 2π.
    const model = {
      sampleAndLogProb: (n: number, { seed }: { seed?: number } = {}) => tf.tidy(() => {
        const x = tf.randomNormal([n, 2], 0, 1, 'float32', seed) as tf.Tensor2D;
        return { x, logProb: tf.sub(tf.mul(-0.5, tf.sum(tf.square(x), 1)), Math.log(2 * Math.PI)) as tf.Tensor1D };
      }),
    };
    const loss = reverseKL(model, harmonic.energy, { n: 500, seed: 1 });
    expect(loss.dataSync()[0]).toBeCloseTo(-Math.log(2 * Math.PI), 5);
    loss.dispose();
    expect(leaks(() => reverseKL(model, harmonic.energy, { n: 50, seed: 2 }))).toEqual([0, 0, 0]);
    expect(() => reverseKL(model, harmonic.energy, { n: 0 })).toThrow(/reverseKL: n must be a positive integer/);
  });
});

describe('mcmc', () => {
  it.each(['mala', 'metropolis'] as const)('%s samples N(0, kT·I) from the harmonic energy, seeded and leak-free', (method) => {
    const x0 = new Float32Array(2 * 64);
    const opts = { steps: 300, burnIn: 100, stepSize: 1.5, kT: 2, method, seed: 4 };
    const before = tf.memory().numTensors;
    const { samples, acceptance } = mcmc(harmonic.energy, x0, 2, opts);
    expect(tf.memory().numTensors).toBe(before);
    expect(acceptance).toBeGreaterThan(0.3);
    expect(acceptance).toBeLessThan(0.95);
    const n = samples.length / 2;
    let m = 0;
    let v = 0;
    for (const s of samples) {
      m += s;
      v += s * s;
    }
    // Chains are autocorrelated; 19 200 draws still pin the mean to ±0.1 and the variance to ±10 %.
    expect(Math.abs(m / (2 * n))).toBeLessThan(0.1);
    expect(v / (2 * n)).toBeGreaterThan(1.8);
    expect(v / (2 * n)).toBeLessThan(2.2);
    expect(Array.from(mcmc(harmonic.energy, x0, 2, { ...opts, steps: 5 }).last)).toEqual(Array.from(mcmc(harmonic.energy, x0, 2, { ...opts, steps: 5 }).last));
  });

  it('names bad arguments', () => {
    expect(() => mcmc(harmonic.energy, new Float32Array(3), 2, { steps: 1, stepSize: 0.1 })).toThrow(/mcmc: x0 must hold whole rows of dim 2/);
    expect(() => mcmc(harmonic.energy, new Float32Array(2), 2, { steps: 1, stepSize: -1 })).toThrow(/mcmc: stepSize must be a positive number, got -1/);
  });
});
