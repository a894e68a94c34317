import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createFlow, tf, useBackend, CNF, ODENet, LAYER_KINDS, InvalidArgumentError, cnfForward64, trainGenerator } from '../../src/index.js';
import { loadFlow, saveFlow, writeFolderAtomically } from '../../src/biflow/io.js';
import { leafBlocks } from '../../src/flows/compose.js';
import type { Dataset } from '../../src/data/index.js';
import { train } from '../../src/biflow/train-node.js';
import { flowMatchingBatch, flowMatchingObjective } from '../../src/ffjord/flow-matching.js';
import { ACTIVATIONS } from '../../src/nn/activations.js';
import type { ActivationName } from '../../src/nn/activations.js';
import { gridMass, leaks, maxDiff } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const quiet = { progress: 'none' as const, logEvery: 50 };

/** Data N(μ, s²I) in 2-D: the case whose optimal field is known in closed form. */
const MU = [1, -0.5];
const S = 0.5;
function gaussianData(seed = 0): Dataset {
  const draw = (n: number, k: number) => tf.tidy(() => tf.add(tf.mul(tf.randomNormal([n, 2], 0, 1, 'float32', k), S), tf.tensor1d(MU)).dataSync() as Float32Array);
  return { name: 'gaussian', dim: 2, batch: (i, size) => draw(size, seed * 100_003 + i + 1), test: draw(2000, 99_991 + seed) };
}

/**
 * Independent coupling of N(μ, s²I) (t = 0) with N(0, I) (t = T) on the straight path: with
 * w = x₁ − x₀ and m(τ) = (1 − τ)²s² + τ², E[w | x_τ = x] = −μ + (τ − (1 − τ)s²)/m · (x − (1 − τ)μ)
 * and Var(w | x_τ) = s²/m per coordinate, so the least FM loss (CNF time, ÷T) is
 * (D s²/T²)·∫₀¹ dτ/m(τ) = D·π·s/(2T²).
 */
const optimalField = (T: number) => (t: tf.Tensor2D, x: tf.Tensor2D) => tf.tidy(() => {
  const tau = tf.div(t, T);
  const one = tf.sub(1, tau);
  const m = tf.add(tf.mul(tf.square(one), S * S), tf.square(tau));
  const k = tf.div(tf.sub(tau, tf.mul(one, S * S)), m);
  const mu = tf.tensor1d(MU);
  return tf.div(tf.add(tf.neg(mu), tf.mul(k, tf.sub(x, tf.mul(one, mu)))), T);
});
const minimumLoss = (T: number) => (2 * Math.PI * S) / (2 * T * T);

function compareFused(layer: (typeof LAYER_KINDS)[number], activation: ActivationName): void {
  const net = new ODENet({ dim: 3, hidden: [7, 5], layer, activation, seed: 2 });
  const t = tf.randomUniform([9, 1], 0, 0.8, 'float32', 3) as tf.Tensor2D;
  const x = tf.randomNormal([9, 3], 0, 1, 'float32', 4) as tf.Tensor2D;
  const u = tf.randomNormal([9, 3], 0, 1, 'float32', 5) as tf.Tensor2D;
  const run = (fused: boolean) => {
    const { value, grads } = tf.variableGrads(() => net.flowMatchingLoss(t, x, u, fused), net.variables);
    // An autonomous net ('ignore') has no gradient in t on the tape: only x and u there.
    const inputs = layer === 'ignore'
      ? tf.grads((xx: tf.Tensor, uu: tf.Tensor) => net.flowMatchingLoss(t, xx as tf.Tensor2D, uu as tf.Tensor2D, fused))([x, u])
      : tf.grads((tt: tf.Tensor, xx: tf.Tensor, uu: tf.Tensor) => net.flowMatchingLoss(tt as tf.Tensor2D, xx as tf.Tensor2D, uu as tf.Tensor2D, fused))([t, x, u]);
    const out = { value: value.dataSync()[0]!, grads: [...net.variables.map((v) => Array.from(grads[v.name]!.dataSync())), ...inputs.map((g) => Array.from(g.dataSync()))] };
    tf.dispose([value, ...Object.values(grads), ...inputs]);
    return out;
  };
  const a = run(true);
  const b = run(false);
  expect(a.value).toBeCloseTo(b.value, 4);
  a.grads.forEach((g, i) => expect(maxDiff(g, b.grads[i]!)).toBeLessThan(1e-4 * (1 + Math.max(...b.grads[i]!.map(Math.abs)))));
  expect(leaks(() => run(true))).toEqual([0, 0, 0]);
  expect(leaks(() => net.flowMatchingLoss(t, x, u))).toEqual([0, 0, 0]);
  // A gradient of the gradient goes through the taped reference.
  const v0 = net.variables[0]!;
  const second = (fused: boolean) => tf.tidy(() => tf.grad((s: tf.Tensor) => {
    const g = tf.grads(() => tf.mul(net.flowMatchingLoss(t, tf.mul(x, s) as tf.Tensor2D, u, fused), 1))([v0])[0]!;
    return tf.sum(tf.square(g));
  })(tf.scalar(1.1)).dataSync()[0]!);
  expect(second(true)).toBeCloseTo(second(false), 3);
  tf.dispose([t, x, u]);
  net.dispose();
}

describe('flow matching', () => {
  it('the loss of the optimal Gaussian-to-Gaussian field equals the closed form D·π·s/(2T²) (Monte Carlo, 200 000 pairs, within 4 standard errors)', () => {
    for (const T of [0.5, 1.3]) {
      const n = 200_000;
      const per = tf.tidy(() => {
        const x0 = tf.add(tf.mul(tf.randomNormal([n, 2], 0, 1, 'float32', 11), S), tf.tensor1d(MU)) as tf.Tensor2D;
        const x1 = tf.randomNormal([n, 2], 0, 1, 'float32', 12) as tf.Tensor2D;
        const tau = tf.randomUniform([n, 1], 0, 1, 'float32', 13) as tf.Tensor2D;
        const { t, x, u } = flowMatchingBatch(x0, x1, tau, T);
        return Array.from(tf.sum(tf.square(tf.sub(optimalField(T)(t, x), u)), 1).dataSync());
      });
      const mean = per.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(per.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
      expect(Math.abs(mean - minimumLoss(T))).toBeLessThan((4 * sd) / Math.sqrt(n));
      // A field off the optimum (the target's mean alone) scores clearly worse.
      expect(minimumLoss(T)).toBeLessThan(mean + 1);
    }
  });

  it.each(LAYER_KINDS.flatMap((layer) => (Object.keys(ACTIVATIONS) as ActivationName[]).map((act) => [layer, act] as const)))('the closed-form FM loss (%s, %s) equals the taped one: value, gradients of the variables and of t, x, u, second order; no leaks', (layer, activation) => {
    compareFused(layer, activation);
  });

  it('on a backend without host buffers (cpu: the kernels path) the closed form equals the taped one too', async () => {
    await useBackend('cpu');
    try {
      for (const layer of LAYER_KINDS) compareFused(layer, layer === 'hyper' ? 'swish' : 'tanh');
    } finally {
      await useBackend('wasm');
    }
  });

  it('training by CFM brings the loss near the closed-form minimum; the model is an exact CNF (float64 reference, density integrates to one, Gaussian recovered), samples and saves', async () => {
    const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [32, 32], seed: 1 });
    const cnf = leafBlocks(flow.bijector)[0] as CNF;
    const T0 = cnf.T;
    const big = { iters: 1, batch: 20_000 };
    const measure = () => {
      const fm = flowMatchingObjective(flow, { objective: 'cfm', seed: 5 });
      const x = tf.tensor2d(gaussianData(7).batch(0, big.batch), [big.batch, 2]);
      const l = fm.loss(x);
      const v = l.dataSync()[0]!;
      tf.dispose([x, l]);
      return v;
    };
    const before = measure();
    const r = await train(flow, gaussianData(), { iters: 600, batch: 256, lr: 3e-3, objective: 'cfm', ...quiet }, writeFolderAtomically);
    const after = measure();
    const min = minimumLoss(T0);
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0]!.loss);
    expect(before).toBeGreaterThan(min * 1.5);
    expect(after).toBeLessThan(min * 1.1);
    expect(after).toBeGreaterThan(min * 0.97);
    // T is not trained by flow matching.
    expect(cnf.T).toBe(T0);
    // The exact likelihood: against the float64 solve of the same ODE, and against the true density.
    const pts = [[1, -0.5], [1.4, 0], [0.3, -1], [2, -0.4]];
    const x = tf.tensor2d(pts);
    const lp = Array.from(flow.logProb(x).dataSync());
    const ref = cnfForward64(cnf, pts.flat());
    const lp64 = pts.map((_, i) => -Math.log(2 * Math.PI) - 0.5 * (ref.z[2 * i]! ** 2 + ref.z[2 * i + 1]! ** 2) + ref.logDet[i]!);
    expect(maxDiff(lp, lp64)).toBeLessThan(2e-4);
    // Held-out NLL against the data's entropy log(2πs²) + 1: their difference is the KL divergence ≥ 0.
    const kl = flow.nll(gaussianData().test) - (Math.log(2 * Math.PI * S * S) + 1);
    expect(kl).toBeGreaterThan(-0.03);
    expect(kl).toBeLessThan(0.06);
    expect(gridMass(flow, 4, 61)).toBeCloseTo(1, 1);
    const s = flow.sample(2000, { seed: 3 });
    const mean = Array.from(tf.mean(s, 0).dataSync());
    expect(maxDiff(mean, MU)).toBeLessThan(0.08);
    s.dispose();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'biflow-fm-'));
    try {
      await saveFlow(flow, dir);
      const back = await loadFlow(dir);
      expect(maxDiff(Array.from(back.logProb(x).dataSync()), lp)).toBeLessThan(1e-6);
      back.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    x.dispose();
    flow.dispose();
  });

  it('OT-CFM pairs each batch by the exact assignment: its trained loss falls far below the independent coupling’s minimum', async () => {
    const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [32, 32], seed: 2 });
    const r = await train(flow, gaussianData(1), { iters: 150, batch: 128, lr: 3e-3, objective: 'ot-cfm', ...quiet }, writeFolderAtomically);
    const tail = r.history.at(-1)!.loss;
    expect(tail).toBeLessThan(0.3 * minimumLoss(0.5));
    expect(Number.isFinite(flow.nll(gaussianData(1).test))).toBe(true);
    flow.dispose();
  });

  it('a stack with one CNF block: only the CNF net trains, the other blocks stay fixed; evalEvery logs the exact held-out NLL; a one-pass generator trains on it', async () => {
    const flow = createFlow({ type: 'biflow', dim: 2, blocks: ['actnorm', 'cnf', 'lu'], cnfHidden: [16, 16], seed: 3 });
    const fm = flowMatchingObjective(flow, { objective: 'cfm' });
    const cnf = leafBlocks(flow.bijector).find((b): b is CNF => b instanceof CNF)!;
    expect(fm.trainableVariables).toEqual(cnf.net.variables);
    const others = leafBlocks(flow.bijector).filter((b) => b !== cnf).flatMap((b) => b.trainableVariables);
    const data = gaussianData(2);
    const x0 = tf.tensor2d(data.batch(0, 64), [64, 2]);
    fm.initialize(x0);
    const fixed = others.map((v) => Array.from(v.dataSync()));
    const r = await train(flow, data, { iters: 20, batch: 64, objective: 'cfm', validation: data.test, evalEvery: 10, ...quiet }, writeFolderAtomically);
    others.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(fixed[i]));
    expect(r.evaluations.map((e) => e.iter)).toEqual([10, 20]);
    expect(r.evaluations.at(-1)!.validationNll).toBeCloseTo(fm.evaluate(data.test), 5);
    x0.dispose();
    const g = await trainGenerator(flow, data, { iters: 3, batch: 32, progress: 'none' });
    expect(g.result.iters).toBe(3);
    tf.dispose(flow.sample(4, { via: 'generator' }));
    flow.dispose();
  });

  it('refuses unknown objectives, negative or non-finite sigma, flows without a CNF block and stacks with several, naming the option, before any work', async () => {
    const data = gaussianData();
    const ffjord = createFlow({ type: 'ffjord', dim: 2, hidden: [8], seed: 1 });
    const realnvp = createFlow({ type: 'realnvp', dim: 2, hidden: [8] });
    const stack = createFlow({ type: 'biflow', dim: 2, cnfHidden: [8] });
    const run = (flow: typeof ffjord, o: Record<string, unknown>) => train(flow, data, { iters: 2, batch: 8, ...quiet, ...o } as never, writeFolderAtomically);
    const before = tf.memory().numTensors;
    const cases: [typeof ffjord, Record<string, unknown>, RegExp][] = [
      [ffjord, { objective: 'fm' }, /train: objective must be one of 'ml', 'cfm', 'ot-cfm', got "fm"/],
      [ffjord, { objective: 'cfm', sigma: -0.1 }, /train: sigma must be a finite number ≥ 0, got -0.1/],
      [ffjord, { objective: 'ot-cfm', sigma: NaN }, /train: sigma must be a finite number ≥ 0/],
      [ffjord, { sigma: 0.1 }, /train: sigma applies to flow matching only/],
      [realnvp, { objective: 'cfm' }, /train: objective needs a flow with a CNF block .* this 'realnvp' flow has none/],
      [stack, { objective: 'ot-cfm' }, /train: objective trains exactly one CNF block, with the other blocks fixed; this 'biflow' flow has 2 \(blocks 1, 4\)/],
      [ffjord, { objective: 'cfm', evalEvery: 1.5 }, /train: evalEvery must be a positive integer/],
    ];
    for (const [flow, o, msg] of cases) {
      const err = await run(flow, o).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(msg);
    }
    expect(() => flowMatchingObjective({ trainableVariables: [], loss: () => tf.scalar(0) }, { objective: 'cfm' })).toThrow(/this model is not one/);
    expect(tf.memory().numTensors).toBe(before);
    [ffjord, realnvp, stack].forEach((f) => f.dispose());
  });

  it('an FM iteration leaks no tensors (cfm with σ, ot-cfm) and the same seed repeats the loss curve', async () => {
    for (const objective of ['cfm', 'ot-cfm'] as const) {
      const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [8, 8], seed: 4 });
      const fm = flowMatchingObjective(flow, { objective, sigma: 0.1, seed: 2 });
      const x = tf.tensor2d(gaussianData().batch(0, 32), [32, 2]);
      expect(leaks(() => {
        const { value, grads } = tf.variableGrads(() => fm.loss(x), fm.trainableVariables);
        tf.dispose([value, ...Object.values(grads)]);
      })).toEqual([0, 0, 0]);
      x.dispose();
      flow.dispose();
      const curve = async () => {
        const f = createFlow({ type: 'ffjord', dim: 2, hidden: [8, 8], seed: 4 });
        const r = await train(f, gaussianData(), { iters: 6, batch: 32, objective, sigma: 0.1, seed: 3, progress: 'none', logEvery: 2 }, writeFolderAtomically);
        f.dispose();
        return r.history.map((h) => h.loss);
      };
      expect(await curve()).toEqual(await curve());
    }
  });
});
