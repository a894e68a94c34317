/**
 * Conditional flows q(x | c): the bijector contract at a fixed context, gradients with respect to
 * the context, the broadcast forms, the typed errors naming `context`, no leaks (thrown errors
 * included), the standardisation that is part of the model, and save/load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, InvalidArgumentError, leafBlocks, loadFlow, saveFlow, tf, useBackend } from '../../src/index.js';
import type { Bijector } from '../../src/flows/index.js';
import { Flow, Sequential, StandardNormal } from '../../src/flows/index.js';
import { Standardize } from '../../src/flows/standardize.js';
import { ActNorm, AdditiveCoupling, AffineCoupling, LULinear, MaskedAutoregressive, SplineCoupling } from '../../src/discrete/index.js';
import { Stack, trainGenerator } from '../../src/biflow/index.js';
import { conditionalDataset } from '../../src/data/index.js';
import { leaks } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});
const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-context-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const D = 3;
const K = 2;
const N = 5;

function randomize<B extends { trainableVariables: tf.Variable[] }>(b: B, seed: number): B {
  b.trainableVariables.forEach((v, i) => tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed + i))));
  return b;
}

/** log|det| of a small matrix by Gaussian elimination in float64. */
function logAbsDet(m: number[][]): number {
  const a = m.map((r) => r.slice());
  let s = 0;
  for (let c = 0; c < a.length; c++) {
    let p = c;
    for (let r = c + 1; r < a.length; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    s += Math.log(Math.abs(a[c]![c]!));
    for (let r = c + 1; r < a.length; r++) {
      const f = a[r]![c]! / a[c]![c]!;
      for (let k = c; k < a.length; k++) a[r]![k]! -= f * a[c]![k]!;
    }
  }
  return s;
}

const BLOCKS: [string, () => Bijector][] = [
  ['additive coupling (NICE)', () => new AdditiveCoupling({ dim: D, parity: 'even', hidden: [16], contextDim: K })],
  ['affine coupling (RealNVP)', () => new AffineCoupling({ dim: D, parity: 'odd', hidden: [16], contextDim: K })],
  ['spline coupling', () => new SplineCoupling({ dim: D, parity: 'even', hidden: [16], bins: 5, bound: 3, contextDim: K })],
  ['masked autoregressive, affine (MAF)', () => new MaskedAutoregressive({ dim: D, transform: 'affine', hidden: [16], contextDim: K })],
  ['masked autoregressive, spline (NSF)', () => new MaskedAutoregressive({ dim: D, transform: 'spline', order: 'descending', hidden: [16], bins: 5, bound: 3, contextDim: K })],
  ['sequential (ActNorm → LU → affine → spline)', () => new Sequential([new ActNorm(D), new LULinear(D, 2), new AffineCoupling({ dim: D, parity: 'even', hidden: [8], contextDim: K }), new SplineCoupling({ dim: D, parity: 'odd', hidden: [8], contextDim: K })])],
  ['mixed stack without CNF blocks', () => new Stack({ dim: D, blocks: ['actnorm', 'lu', 'spline', 'permutation', 'affine', 'additive'], hidden: [8], contextDim: K })],
];

const xs = () => tf.randomNormal([N, D], 0, 1, 'float32', 11) as tf.Tensor2D;
const cs = (seed = 12) => tf.randomNormal([N, K], 0, 1, 'float32', seed) as tf.Tensor2D;

describe.each(BLOCKS)('conditional bijector contract: %s', (_name, make) => {
  it('inverts at a fixed context, and the context changes the map', () => {
    const b = randomize(make(), 1);
    const [x, c, c2] = [xs(), cs(), cs(13)];
    const { y, logDet } = b.forward(x, { context: c });
    const back = b.inverse(y, { context: c });
    expect(tf.max(tf.abs(tf.sub(back.x, x))).dataSync()[0]).toBeLessThan(1e-4);
    const other = b.forward(x, { context: c2 });
    expect(tf.max(tf.abs(tf.sub(other.y, y))).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([x, c, c2, y, logDet, back.x, back.logDet, other.y, other.logDet]);
    b.dispose();
  });

  it('forward log-det equals log|det| of the central-difference Jacobian at fixed c; inverse log-det is its negative', () => {
    const b = randomize(make(), 2);
    const [x, c] = [xs(), cs()];
    const rows = x.arraySync();
    const ctx = c.arraySync();
    const { y, logDet } = b.forward(x, { context: c });
    const inv = b.inverse(y, { context: c });
    const ld = Array.from(logDet.dataSync());
    const ldInv = Array.from(inv.logDet.dataSync());
    const h = 1e-2;
    rows.forEach((row, n) => {
      const at = (r: number[]) => tf.tidy(() => b.forward(tf.tensor2d([r]), { context: tf.tensor2d([ctx[n]!]) }).y.dataSync());
      const J = Array.from({ length: D }, () => new Array<number>(D).fill(0));
      for (let j = 0; j < D; j++) {
        const yp = at(row.map((v, k) => (k === j ? v + h : v)));
        const ym = at(row.map((v, k) => (k === j ? v - h : v)));
        for (let i = 0; i < D; i++) J[i]![j] = (yp[i]! - ym[i]!) / (2 * h);
      }
      expect(ld[n]).toBeCloseTo(logAbsDet(J), 2);
      expect(ldInv[n]).toBeCloseTo(-ld[n]!, 4);
    });
    tf.dispose([x, c, y, logDet, inv.x, inv.logDet]);
    b.dispose();
  });

  it('the gradient of log q(x | c) with respect to c matches central differences', () => {
    const flow = new Flow(randomize(make(), 3), new StandardNormal(D), null, { contextDim: K });
    const [x, c] = [xs(), cs()];
    const g = tf.grad((ctx: tf.Tensor) => tf.sum(flow.logProb(x, { context: ctx as tf.Tensor2D })))(c);
    const grad = g.arraySync() as number[][];
    const ctx = c.arraySync();
    const h = 1e-3;
    const total = (m: number[][]) => tf.tidy(() => tf.sum(flow.logProb(x, { context: m })).dataSync()[0]!);
    for (const [n, k] of [[0, 0], [2, 1], [4, 0]] as const) {
      const plus = ctx.map((r, i) => r.map((v, j) => (i === n && j === k ? v + h : v)));
      const minus = ctx.map((r, i) => r.map((v, j) => (i === n && j === k ? v - h : v)));
      const fd = (total(plus) - total(minus)) / (2 * h);
      expect(Math.abs(grad[n]![k]! - fd)).toBeLessThan(1e-2 * Math.max(1, Math.abs(fd)));
    }
    // Not vacuous: the context moves the density.
    expect(Math.max(...grad.flat().map(Math.abs))).toBeGreaterThan(1e-3);
    tf.dispose([x, c, g]);
    flow.dispose();
  });
});

describe('Flow with a context', () => {
  const nsf = () => randomize(createFlow({ type: 'nsf', dim: D, contextDim: K, hidden: [8], layers: 2, standardize: false }), 5);

  it('broadcasts one context ([k], [1, k], number[], Float32Array) to every row, and takes row-major Float32Array rows', () => {
    const flow = nsf();
    const x = xs();
    const one = [0.3, -1.2];
    const ref = flow.logProb(x, { context: tf.tensor2d(Array.from({ length: N }, () => one)) });
    for (const context of [tf.tensor1d(one), tf.tensor2d([one]), one, [one], Float32Array.from(one)]) {
      const lp = flow.logProb(x, { context });
      expect(Array.from(lp.dataSync())).toEqual(Array.from(ref.dataSync()));
      tf.dispose([lp, ...(context instanceof tf.Tensor ? [context] : [])]);
    }
    const c = cs();
    const a = flow.logProb(x, { context: c });
    const b = flow.logProb(x, { context: c.dataSync() as Float32Array });
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    // Batching along the rows cuts the context with the rows.
    const batched = flow.logProb(x, { context: c, batch: 2 });
    Array.from(batched.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(a.dataSync()[i]!, 5));
    tf.dispose([x, ref, c, a, b, batched]);
    flow.dispose();
  });

  it('a NaN row of x gets NaN and leaves the other rows (and their contexts) as they were', () => {
    const flow = nsf();
    const rows = xs().arraySync();
    const ctx = cs().arraySync();
    rows[2]![1] = NaN;
    const lp = Array.from(flow.logProb(tf.tensor2d(rows), { context: ctx }).dataSync());
    expect(Number.isNaN(lp[2])).toBe(true);
    const good = [0, 1, 3, 4];
    const alone = Array.from(flow.logProb(tf.tensor2d(good.map((i) => rows[i]!)), { context: good.map((i) => ctx[i]!) }).dataSync());
    good.forEach((i, k) => expect(lp[i]).toBeCloseTo(alone[k]!, 5));
    flow.dispose();
  });

  it('samples n from one context or one per context row; sampleAndLogProb agrees with logProb', () => {
    const flow = nsf();
    const one = flow.sample(7, { context: [0.5, 0.1], seed: 2 });
    expect(one.shape).toEqual([7, D]);
    const c = cs();
    const each = flow.sample(N, { context: c, seed: 2 });
    expect(each.shape).toEqual([N, D]);
    const { x, logProb } = flow.sampleAndLogProb(N, { context: c, seed: 3 });
    const again = flow.logProb(x, { context: c });
    Array.from(again.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(logProb.dataSync()[i]!, 3));
    // One sample per row: row i is drawn given context row i, so a per-row batch changes nothing.
    const batched = flow.sample(N, { context: c, seed: 2, batch: 2 });
    expect(Array.from(batched.dataSync()).map((v, i) => Math.abs(v - each.dataSync()[i]!)).every((d) => d < 1e-5)).toBe(true);
    tf.dispose([one, c, each, x, logProb, again, batched]);
    flow.dispose();
  });

  it('nll, loss and evaluate take the context rows', () => {
    const flow = nsf();
    const [x, c] = [xs(), cs()];
    const lp = tf.mean(flow.logProb(x, { context: c })).dataSync()[0]!;
    const rows = x.dataSync() as Float32Array;
    const ctx = c.dataSync() as Float32Array;
    expect(flow.nll(rows, { context: ctx, batch: 2 })).toBeCloseTo(-lp, 4);
    expect(flow.evaluate(rows, ctx)).toBeCloseTo(-lp, 4);
    const loss = flow.loss(x, c);
    expect(loss.dataSync()[0]).toBeCloseTo(-lp, 4);
    tf.dispose([x, c, loss]);
    flow.dispose();
  });

  it('rejects a bad context by name (missing, unwanted, width, rows, NaN, type), leaking nothing', () => {
    const flow = nsf();
    const plain = createFlow({ type: 'nsf', dim: D, hidden: [8], layers: 2 });
    const x = xs();
    const three = tf.zeros([3, K]) as tf.Tensor2D;
    const coupling = new AffineCoupling({ dim: D, parity: 'even', contextDim: K });
    const cases: [() => unknown, RegExp][] = [
      [() => flow.logProb(x), /Flow\.logProb: context is missing.*contextDim 2/],
      [() => plain.logProb(x, { context: [1, 2] }), /Flow\.logProb: context was given to an unconditional flow/],
      [() => flow.logProb(x, { context: [1, 2, 3] }), /context must have 2 columns.*got shape \[1, 3\]/],
      [() => flow.logProb(x, { context: three }), /context must have 1 row .* or 5 \(one per row\), got 3 rows/],
      [() => flow.logProb(x, { context: [0, NaN] }), /context must be finite, got .*NaN or ±Inf entry/],
      [() => flow.sample(4, { context: [[0, 1], [Infinity, 1]] }), /Flow\.sample: context must have 1 row|context must be finite/],
      [() => flow.logProb(x, { context: 'abc' as unknown as number[] }), /context must be \[N, 2\] rows or one \[2\] context/],
      [() => flow.loss(x), /Flow\.loss: context is missing/],
      [() => flow.nll(x.dataSync() as Float32Array), /Flow\.nll: context is missing/],
      [() => flow.sample(3), /Flow\.sample: context is missing/],
      [() => coupling.forward(x), /affine-coupling: context must be \[5, 2\] rows/],
    ];
    for (const [call, message] of cases) {
      let err: unknown;
      expect(leaks(() => {
        try {
          call();
        } catch (e) {
          err = e;
        }
      }, 2)).toEqual([0, 0]);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).arg).toBe('context');
      expect((err as Error).message).toMatch(message);
    }
    tf.dispose([x, three]);
    coupling.dispose();
    flow.dispose();
    plain.dispose();
  });

  it('leaks no tensors over repeated logProb, sample, sampleAndLogProb, nll and loss calls', () => {
    const flow = nsf();
    const [x, c] = [xs(), cs()];
    expect(leaks(() => {
      const s = flow.sampleAndLogProb(N, { context: c });
      tf.dispose([flow.logProb(x, { context: [1, 2] }), flow.sample(4, { context: [1, 2] }), s.x, s.logProb, flow.loss(x, c)]);
      flow.nll(x.dataSync() as Float32Array, { context: c });
    })).toEqual([0, 0, 0]);
    tf.dispose([x, c]);
    flow.dispose();
  });
});

describe('standardisation as part of a conditional flow', () => {
  // x ~ N(μ, diag σ²) far from the origin, context on another scale: what a simulator hands over raw.
  const mu = [40, -3, 7];
  const sd = [10, 0.2, 3];
  const raw = () => tf.tidy(() => tf.add(tf.mul(tf.randomNormal([400, D], 0, 1, 'float32', 21), sd), mu) as tf.Tensor2D);
  const rawContext = () => tf.tidy(() => tf.add(tf.mul(tf.randomNormal([400, K], 0, 1, 'float32', 22), [100, 0.01]), [500, 2]) as tf.Tensor2D);

  it('is on by default: an untrained flow is exactly the Gaussian with the data’s mean and std, log-det included', () => {
    // RealNVP: its untrained couplings are the identity (zero last layers), so only the standardisation acts.
    const flow = createFlow({ type: 'realnvp', dim: D, contextDim: K, hidden: [8], layers: 2 });
    expect(leafBlocks(flow.bijector)[0]).toBeInstanceOf(Standardize);
    const [x, c] = [raw(), rawContext()];
    flow.initialize(x, c);
    const { mean, variance } = tf.moments(x, 0);
    const m = Array.from(mean.dataSync());
    const s = Array.from(variance.dataSync()).map((v) => Math.sqrt((v * 400) / 399));
    expect((leafBlocks(flow.bijector)[0] as Standardize).stats.state.mean.map((v, i) => v - m[i]!).every((d) => Math.abs(d) < 1e-3)).toBe(true);
    // log q(x | c) = Σ log N((x − m)/s) − Σ log s.
    const lp = Array.from(flow.logProb(x, { context: c }).dataSync());
    x.arraySync().slice(0, 10).forEach((row, n) => {
      const expected = row.reduce((a, v, d) => a - 0.5 * ((v - m[d]!) / s[d]!) ** 2 - 0.5 * Math.log(2 * Math.PI) - Math.log(s[d]!), 0);
      expect(lp[n]).toBeCloseTo(expected, 3);
    });
    // The context is z-scored before the conditioner reads it.
    const cm = flow.contextStandardizer!.state;
    expect(cm.mean[0]).toBeGreaterThan(480);
    expect(cm.std[1]).toBeLessThan(0.02);
    tf.dispose([x, c, mean, variance]);
    flow.dispose();
  });

  it('standardize: false leaves x and the context as given', () => {
    const flow = createFlow({ type: 'realnvp', dim: D, contextDim: K, hidden: [8], layers: 2, standardize: false });
    expect(leafBlocks(flow.bijector).some((b) => b instanceof Standardize)).toBe(false);
    expect(flow.contextStandardizer).toBeNull();
    flow.dispose();
  });

  it('saves and loads a conditional flow: contextDim, fitted statistics and weights, the same log-densities', async () => {
    for (const type of ['nsf', 'glow', 'nice', 'biflow'] as const) {
      const flow = createFlow({ type, dim: D, contextDim: K, hidden: [8], layers: 2, ...(type === 'biflow' ? { blocks: ['actnorm', 'spline', 'lu', 'affine'] } : {}) });
      randomize(flow, 7);
      const [x, c] = [raw(), rawContext()];
      flow.initialize(x, c);
      const dir = path.join(root, type);
      await saveFlow(flow, dir);
      const back = await loadFlow(dir);
      expect(back.contextDim).toBe(K);
      const a = flow.logProb(x, { context: c });
      const b = back.logProb(x, { context: c });
      expect(Math.max(...Array.from(tf.abs(tf.sub(a, b)).dataSync()))).toBeLessThan(1e-4);
      tf.dispose([x, c, a, b]);
      flow.dispose();
      back.dispose();
    }
  });
});

describe('createFlow with contextDim', () => {
  it('builds every discrete type conditionally; the conditioners read [x_A, c]', () => {
    for (const type of ['nice', 'realnvp', 'glow', 'nsf', 'biflow'] as const) {
      const flow = createFlow({ type, dim: D, contextDim: K, hidden: [8], ...(type === 'biflow' ? { blocks: ['actnorm', 'spline', 'lu', 'affine'] } : {}) });
      expect(flow.contextDim).toBe(K);
      const couplings = leafBlocks(flow.bijector).filter((b): b is AffineCoupling => 'net' in b);
      expect(couplings.length).toBeGreaterThan(0);
      for (const b of couplings) {
        expect(b.net.inDim).toBe(Math.floor(D / 2) + (b.getConfig().parity === 'even' ? 1 : 0) + K);
        expect(b.getConfig().contextDim).toBe(K);
      }
      flow.dispose();
    }
  });

  it('rejects a bad contextDim by name, and builds a conditional biflow stack whose CNF blocks read the context', () => {
    expect(() => createFlow({ type: 'nsf', dim: 2, contextDim: -1 })).toThrow(/createFlow: contextDim must be an integer ≥ 0/);
    expect(() => createFlow({ type: 'nsf', dim: 2, contextDim: 1, standardize: 'yes' as unknown as boolean })).toThrow(/standardize must be true or false/);
    const before = tf.memory().numTensors;
    const flow = randomize(createFlow({ type: 'biflow', dim: 2, contextDim: 1 }), 5);
    const x = tf.tensor2d([[0.3, -0.5], [1.1, 0.2]]);
    const at = (c: number) => tf.tidy(() => Array.from(flow.logProb(x, { context: [c] }).dataSync()));
    const [a, b] = [at(0.5), at(-1.5)];
    expect([...a, ...b].every(Number.isFinite)).toBe(true);
    // Every block reads c, the CNF blocks included: another context, another density.
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(1e-4);
    x.dispose();
    flow.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the one-pass generator of a conditional flow', () => {
  it('trains against q(x | c) with the context rows, samples given a context, and saves with its contextDim', async () => {
    const m = 400;
    const cs = tf.tidy(() => tf.randomUniform([m, K], -2, 2, 'float32', 8).dataSync() as Float32Array);
    const xs = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d(cs, [m, K]), tf.tensor2d([[1, 0, 0.5], [0, 1, -0.5]])), tf.randomNormal([m, D], 0, 0.2, 'float32', 9)).dataSync() as Float32Array);
    const data = conditionalDataset('g', { data: xs, rows: m, dim: D }, { data: cs, rows: m, dim: K }, { seed: 1 });
    const flow = randomize(createFlow({ type: 'realnvp', dim: D, contextDim: K, hidden: [8], layers: 2, standardize: false }), 6);
    const { generator, result } = await trainGenerator(flow, data, { iters: 80, batch: 64, lr: 1e-2, hidden: [32], progress: 'none', logEvery: 10 });
    expect(generator.contextDim).toBe(K);
    const rec = result.history.map((h) => h.reconstruction!);
    expect(rec.at(-1)!).toBeLessThan(rec[0]! / 2);
    // G reads c: the same latent draws from two contexts give different samples.
    const [a, b] = [flow.sample(5, { via: 'generator', context: [1, 1], seed: 3 }), flow.sample(5, { via: 'generator', context: [-1, 1], seed: 3 })];
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeGreaterThan(1e-2);
    expect(() => generator.generate(tf.zeros([2, D]) as tf.Tensor2D)).toThrow(/Generator: context must be \[2, 2\] rows/);
    const dir = path.join(root, 'generator');
    await saveFlow(flow, dir);
    const back = await loadFlow(dir);
    const again = back.sample(5, { via: 'generator', context: [1, 1], seed: 3 });
    expect(Math.max(...Array.from(tf.abs(tf.sub(again, a)).dataSync()))).toBeLessThan(1e-5);
    tf.dispose([a, b, again]);
    flow.dispose();
    back.dispose();
  });
});

describe('ffjord with a context', () => {
  it('inverts at fixed c, the log-det matches the Jacobian, and the gradient in c matches central differences', () => {
    const flow = randomize(createFlow({ type: 'ffjord', dim: 2, contextDim: 1, hidden: [8, 8], cnf: { rtol: 1e-6, atol: 1e-6 } }), 4);
    const x = tf.tensor2d([[0.3, -0.5], [1.1, 0.2]]);
    const c = tf.tensor2d([[0.7], [-1.3]]);
    const { y, logDet } = flow.bijector.forward(x, { context: c });
    const back = flow.bijector.inverse(y, { context: c });
    expect(tf.max(tf.abs(tf.sub(back.x, x))).dataSync()[0]).toBeLessThan(1e-4);
    const h = 1e-2;
    const ctx = c.arraySync();
    x.arraySync().forEach((row, n) => {
      const at = (r: number[]) => tf.tidy(() => flow.bijector.forward(tf.tensor2d([r]), { context: tf.tensor2d([ctx[n]!]) }).y.dataSync());
      const J = [0, 1].map((i) => [0, 1].map((j) => (at(row.map((v, k) => (k === j ? v + h : v)))[i]! - at(row.map((v, k) => (k === j ? v - h : v)))[i]!) / (2 * h)));
      expect(logDet.dataSync()[n]).toBeCloseTo(logAbsDet(J), 2);
    });
    const g = tf.grad((t: tf.Tensor) => tf.sum(flow.logProb(x, { context: t as tf.Tensor2D })))(c);
    const total = (m: number[][]) => tf.tidy(() => tf.sum(flow.logProb(x, { context: m })).dataSync()[0]!);
    const fd = (total([[ctx[0]![0]! + h], ctx[1]!]) - total([[ctx[0]![0]! - h], ctx[1]!])) / (2 * h);
    expect(g.dataSync()[0]).toBeCloseTo(fd, 2);
    tf.dispose([x, c, y, logDet, back.x, back.logDet, g]);
    flow.dispose();
  });

  it('rejects a missing context by name', () => {
    const flow = createFlow({ type: 'ffjord', dim: 2, contextDim: 1, hidden: [8] });
    const x = tf.zeros([2, 2]) as tf.Tensor2D;
    expect(() => flow.logProb(x)).toThrow(/context is missing/);
    tf.dispose(x);
    flow.dispose();
  });
});
