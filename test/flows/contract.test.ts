import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/index.js';
import type { Bijector } from '../../src/flows/index.js';
import { Flow, Sequential, StandardNormal, Inverse } from '../../src/flows/index.js';
import { AdditiveCoupling, AffineCoupling, ActNorm, DiagonalScaling, LULinear, MaskedAutoregressive, Permutation, SplineCoupling } from '../../src/discrete/index.js';
import { CNF } from '../../src/ffjord/index.js';
import { Stack } from '../../src/biflow/index.js';
import { gridMass, leaks } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const D = 4;
const N = 6;

/** Gives every variable small random values so that no block is the identity. */
function randomize(b: Bijector, seed: number): Bijector {
  b.trainableVariables.forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed + i)));
  return b;
}

/** log|det| of a small matrix by Gaussian elimination in float64. */
function logAbsDet(m: number[][]): number {
  const a = m.map((r) => r.slice());
  const n = a.length;
  let s = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    s += Math.log(Math.abs(a[c]![c]!));
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / a[c]![c]!;
      for (let k = c; k < n; k++) a[r]![k]! -= f * a[c]![k]!;
    }
  }
  return s;
}

const BLOCKS: [string, () => Bijector][] = [
  ['additive coupling (NICE)', () => new AdditiveCoupling({ dim: D, parity: 'even', hidden: [16] })],
  ['diagonal scaling (NICE)', () => new DiagonalScaling(D)],
  ['affine coupling (RealNVP)', () => new AffineCoupling({ dim: D, parity: 'odd', hidden: [16] })],
  ['ActNorm', () => new ActNorm(D)],
  ['LU linear', () => new LULinear(D, 3)],
  ['permutation', () => new Permutation(D, { seed: 5 })],
  ['spline coupling', () => new SplineCoupling({ dim: D, parity: 'even', hidden: [16], bins: 5, bound: 3 })],
  ['masked autoregressive, affine (MAF)', () => new MaskedAutoregressive({ dim: D, transform: 'affine', hidden: [16] })],
  ['masked autoregressive, spline (NSF), descending order', () => new MaskedAutoregressive({ dim: D, transform: 'spline', order: 'descending', hidden: [16], bins: 5, bound: 3 })],
  ['sequential', () => new Sequential([new ActNorm(D), new AffineCoupling({ dim: D, parity: 'even', hidden: [8] }), new Permutation(D)])],
  ['inverse', () => new Inverse(new AffineCoupling({ dim: D, parity: 'even', hidden: [8] }))],
  ['CNF (FFJORD, exact trace)', () => new CNF({ dim: D, hidden: [8, 8], rtol: 1e-6, atol: 1e-6 })],
  ['mixed stack (ActNorm → CNF → LU → spline → CNF)', () => new Stack({ dim: D, blocks: ['actnorm', 'cnf', 'lu', 'spline', 'cnf'], hidden: [8], cnfHidden: [8], cnf: { rtol: 1e-6, atol: 1e-6 } })],
];

describe.each(BLOCKS)('bijector contract: %s', (_name, make) => {
  const x = () => tf.randomNormal([N, D], 0, 1, 'float32', 11) as tf.Tensor2D;

  it('keeps the shape and inverts: inverse(forward(x)) ≈ x within 1e-4', () => {
    const b = randomize(make(), 1);
    const xs = x();
    const { y, logDet } = b.forward(xs);
    expect(y.shape).toEqual([N, D]);
    expect(logDet.shape).toEqual([N]);
    const back = b.inverse(y).x;
    const err = tf.max(tf.abs(tf.sub(back, xs))).dataSync()[0]!;
    expect(err).toBeLessThan(1e-4);
    tf.dispose([xs, y, logDet, back]);
    b.dispose();
  });

  it('forward log-det equals log|det| of a central-difference Jacobian; inverse log-det is its negative', () => {
    const b = randomize(make(), 2);
    const xs = x();
    const rows = xs.arraySync();
    const { y, logDet } = b.forward(xs);
    const inv = b.inverse(y);
    const ld = Array.from(logDet.dataSync());
    const ldInv = Array.from(inv.logDet.dataSync());
    const h = 1e-2;
    rows.forEach((row, n) => {
      const J = Array.from({ length: D }, () => new Array<number>(D).fill(0));
      for (let j = 0; j < D; j++) {
        const plus = row.map((v, k) => (k === j ? v + h : v));
        const minus = row.map((v, k) => (k === j ? v - h : v));
        const yp = tf.tidy(() => b.forward(tf.tensor2d([plus])).y.dataSync());
        const ym = tf.tidy(() => b.forward(tf.tensor2d([minus])).y.dataSync());
        for (let i = 0; i < D; i++) J[i]![j] = (yp[i]! - ym[i]!) / (2 * h);
      }
      expect(ld[n]).toBeCloseTo(logAbsDet(J), 2);
      expect(ldInv[n]).toBeCloseTo(-ld[n]!, 4);
    });
    tf.dispose([xs, y, logDet, inv.x, inv.logDet]);
    b.dispose();
  });

  it('gives every trainable variable a nonzero gradient from logProb', () => {
    const b = randomize(make(), 3);
    const flow = new Flow(b, new StandardNormal(D));
    const xs = x();
    const vars = flow.trainableVariables;
    if (vars.length === 0) {
      expect(b).toBeInstanceOf(Permutation);
    } else {
      const { value, grads } = tf.variableGrads(() => tf.mean(flow.logProb(xs)) as tf.Scalar, vars);
      for (const v of vars) expect(tf.max(tf.abs(grads[v.name]!)).dataSync()[0], v.name).toBeGreaterThan(0);
      tf.dispose([value, ...Object.values(grads)]);
    }
    xs.dispose();
    flow.dispose();
  });

  it('leaks no tensors over repeated forward, inverse, logProb and sample calls', () => {
    const b = randomize(make(), 4);
    const flow = new Flow(b, new StandardNormal(D));
    const xs = x();
    expect(leaks(() => {
      const f = b.forward(xs);
      const i = b.inverse(f.y);
      tf.dispose([f.y, f.logDet, i.x, i.logDet, flow.logProb(xs), flow.sample(5, { seed: 1 })]);
    })).toEqual([0, 0, 0]);
    xs.dispose();
    flow.dispose();
  });
});

describe('flows', () => {
  it('a flow’s density integrates to one (2-D, RealNVP + spline, quadrature on a grid)', () => {
    const flow = new Flow(
      new Sequential([
        randomize(new AffineCoupling({ dim: 2, parity: 'even', hidden: [8] }), 7),
        randomize(new SplineCoupling({ dim: 2, parity: 'odd', hidden: [8], bins: 4, bound: 3 }), 8),
      ]),
      new StandardNormal(2),
    );
    const total = gridMass(flow, 9, 241);
    expect(total).toBeCloseTo(1, 2);
    flow.dispose();
  });

  it('ActNorm initialises from data: zero mean and unit variance on the first batch', () => {
    const a = new ActNorm(3);
    const xs = tf.add(tf.mul(tf.randomNormal([500, 3], 0, 1, 'float32', 9), [2, 0.5, 3]), [1, -2, 4]) as tf.Tensor2D;
    a.initialize(xs);
    const { mean, variance } = tf.moments(a.forward(xs).y, 0);
    Array.from(mean.dataSync()).forEach((m) => expect(m).toBeCloseTo(0, 4));
    Array.from(variance.dataSync()).forEach((v) => expect(v).toBeCloseTo(1, 3));
    tf.dispose([xs, mean, variance]);
    a.dispose();
  });

  it('passes inputs outside the spline bound through the linear tails without error', () => {
    const s = randomize(new SplineCoupling({ dim: 2, parity: 'even', hidden: [8], bins: 4, bound: 2 }), 10);
    const xs = tf.tensor2d([[0.5, 7], [-0.3, -12], [0, 1.5]]);
    const { y, logDet } = s.forward(xs);
    const yv = y.arraySync();
    expect(yv[0]![1]).toBeCloseTo(7, 5);
    expect(yv[1]![1]).toBeCloseTo(-12, 5);
    expect(Array.from(logDet.dataSync()).slice(0, 2)).toEqual([0, 0]);
    expect(tf.max(tf.abs(tf.sub(s.inverse(y).x, xs))).dataSync()[0]).toBeLessThan(1e-5);
    s.dispose();
  });

  it('the spline’s derivative is positive everywhere and continuous across its knots and the tail boundary', () => {
    const s = randomize(new SplineCoupling({ dim: 2, parity: 'even', hidden: [8], bins: 6, bound: 2 }), 12);
    const n = 4001;
    // x_A fixed at 0.3; x_B sweeps [−2.5, 2.5], through every knot and both tails.
    const xs = tf.tensor2d(Array.from({ length: n }, (_, i) => [0.3, -2.5 + (5 * i) / (n - 1)]));
    const deriv = Array.from(tf.exp(s.forward(xs).logDet).dataSync());
    expect(Math.min(...deriv)).toBeGreaterThan(0);
    const jumps = deriv.slice(1).map((d, i) => Math.abs(d - deriv[i]!));
    expect(Math.max(...jumps)).toBeLessThan(0.05 * Math.max(...deriv));
    expect(deriv[0]).toBeCloseTo(1, 6);
    expect(deriv[n - 1]).toBeCloseTo(1, 6);
    tf.dispose(xs);
    s.dispose();
  });

  // The boundary knots' derivative is 1 (Durkan et al.), the tails' slope: value and log-det
  // are continuous across ±B in both directions, the log-det going to 0 as O(ε) from inside.
  it('the spline’s value and log-det are continuous across ±bound, forward and inverse, from both sides', () => {
    for (const seed of [21, 22, 23]) {
      const s = randomize(new SplineCoupling({ dim: 2, parity: 'even', hidden: [8], bins: 5, bound: 3 }), seed);
      const eps = [1e-2, 1e-3, 1e-4, 1e-5];
      for (const B of [3, -3]) {
        for (const dir of ['forward', 'inverse'] as const) {
          // ε inside and outside, with three conditioner inputs x_A.
          const rows = eps.flatMap((e) => [-1, 0.2, 1.5].flatMap((a) => [[a, B - Math.sign(B) * e], [a, B + Math.sign(B) * e]]));
          const xs = tf.tensor2d(rows);
          const r = dir === 'forward' ? s.forward(xs) : s.inverse(xs);
          const out = (dir === 'forward' ? (r as { y: tf.Tensor }).y : (r as { x: tf.Tensor }).x).arraySync() as number[][];
          const ld = Array.from(r.logDet.dataSync());
          rows.forEach((row, i) => {
            const e = eps[Math.floor(i / 6)]!;
            // Outside: the identity. Inside: within O(ε) of it (y(±B) = ±B, slope 1 there).
            if (i % 2 === 1) {
              expect(Math.abs(ld[i]!)).toBe(0);
              expect(out[i]![1]).toBeCloseTo(row[1]!, 5);
            } else {
              expect(Math.abs(ld[i]!)).toBeLessThan(50 * e + 1e-5);
              expect(Math.abs(out[i]![1]! - row[1]!)).toBeLessThan(50 * e * e + 1e-5);
            }
          });
          tf.dispose([xs, r.logDet, dir === 'forward' ? (r as { y: tf.Tensor }).y : (r as { x: tf.Tensor }).x]);
        }
      }
      s.dispose();
    }
  });

  it('a CNF’s density integrates to one (2-D, quadrature on a grid)', () => {
    const flow = new Flow(randomize(new CNF({ dim: 2, hidden: [8, 8], rtol: 1e-6, atol: 1e-6 }), 13), new StandardNormal(2));
    const total = gridMass(flow, 7, 141);
    expect(Math.abs(total - 1)).toBeLessThan(0.02);
    flow.dispose();
  });

  it('Hutchinson’s trace agrees with the exact one in expectation', () => {
    const exact = randomize(new CNF({ dim: 3, hidden: [8], rtol: 1e-6, atol: 1e-6, trace: 'exact' }), 14);
    const hutch = new CNF({ dim: 3, hidden: [8], rtol: 1e-6, atol: 1e-6, trace: 'hutchinson', probe: 'rademacher', seed: 5 });
    hutch.trainableVariables.forEach((v, i) => v.assign(exact.trainableVariables[i]!));
    // One row repeated: each copy gets its own probe, so the batch mean is a Monte Carlo average.
    const K = 400;
    const x = tf.tile(tf.tensor2d([[0.4, -0.3, 0.8]]), [K, 1]) as tf.Tensor2D;
    const ld = exact.forward(tf.slice(x, [0, 0], [1, 3])).logDet.dataSync()[0]!;
    const est = Array.from(hutch.forward(x, { trace: 'hutchinson', seed: 5 }).logDet.dataSync());
    const mean = est.reduce((a, b) => a + b, 0) / K;
    const sd = Math.sqrt(est.reduce((a, b) => a + (b - mean) ** 2, 0) / (K - 1));
    expect(sd).toBeGreaterThan(0);
    expect(Math.abs(mean - ld)).toBeLessThan(4 * sd / Math.sqrt(K));
    exact.dispose();
    hutch.dispose();
    x.dispose();
  });
});

