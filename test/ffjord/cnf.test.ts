import { beforeAll, describe, expect, it } from 'vitest';
import { createFlow, tf, useBackend, CNF, ODENet, LAYER_KINDS, InvalidArgumentError, Flow, StandardNormal } from '../../src/index.js';
import { writeFolderAtomically } from '../../src/biflow/io.js';
import { loadDataset } from '../../src/data/index.js';
import { train } from '../../src/train/index.js';
import { gridMass, leaks, maxDiff } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const quiet = { progress: 'none' as const, logEvery: 5 };

describe('FFJORD', () => {
  it.each(LAYER_KINDS)('ODE net layer %s: f(t, z) has the state’s shape and depends on t unless autonomous', (layer) => {
    const net = new ODENet({ dim: 3, hidden: [8], layer, seed: 1 });
    const z = tf.randomNormal([5, 3], 0, 1, 'float32', 2);
    const a = net.apply(0.1, z);
    const b = net.apply(0.4, z);
    expect(a.shape).toEqual([5, 3]);
    const differs = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! > 0;
    expect(differs).toBe(layer !== 'ignore');
    tf.dispose([z, a, b]);
    net.dispose();
  });

  it('trains (Hutchinson, adjoint): the loss falls, the same seed repeats the curve, the trained density integrates to one', async () => {
    const run = async () => {
      const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [16, 16], seed: 3, cnf: { trace: 'hutchinson', rtol: 1e-4, atol: 1e-4 } });
      const r = await train(flow, loadDataset('8gaussians', { seed: 3 }), { iters: 15, batch: 64, lr: 1e-2, ...quiet }, writeFolderAtomically);
      return { flow, losses: r.history.map((h) => h.loss), nfe: r.history.at(-1)! };
    };
    const a = await run();
    const b = await run();
    expect(b.losses).toEqual(a.losses);
    expect(a.losses.at(-1)!).toBeLessThan(a.losses[0]!);
    expect(a.nfe.nfeForward).toBeGreaterThan(0);
    expect(a.nfe.nfeBackward).toBeGreaterThan(0);
    b.flow.dispose();
    // Evaluation is exact by default (no setTrace); the training estimator stays Hutchinson's.
    const total = gridMass(a.flow, 6, 101);
    expect(Math.abs(total - 1)).toBeLessThan(0.02);
    expect((a.flow.bijector as unknown as { blocks: CNF[] }).blocks[0]!.trace).toBe('hutchinson');
    a.flow.dispose();
  });

  it.each(['direct', 'backsolve', 'checkpoint'] as const)('learns its end time: the gradient for √T matches finite differences (%s)', (gradient) => {
    const c = new CNF({ dim: 2, hidden: [8], seed: 2, rtol: 1e-7, atol: 1e-7, gradient });
    c.net.variables.forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', i + 1)));
    const flow = new Flow(c, new StandardNormal(2));
    const x = tf.tensor2d([[0.3, -0.5], [1.2, 0.7]]);
    const { grads, value } = tf.variableGrads(() => flow.loss(x), [c.sqrtT]);
    const g = grads[c.sqrtT.name]!.dataSync()[0]!;
    const s0 = c.sqrtT.dataSync()[0]!;
    const h = 1e-2;
    const at = (v: number) => {
      c.sqrtT.assign(tf.scalar(v));
      return tf.tidy(() => flow.loss(x).dataSync()[0]!);
    };
    const fd = (at(s0 + h) - at(s0 - h)) / (2 * h);
    expect(Math.abs(g - fd)).toBeLessThan(1e-3);
    tf.dispose([x, value, ...Object.values(grads)]);
    flow.dispose();
  });

  it('RNODE: for a constant field f = b the kinetic penalty is λ·T·‖b‖² and the Jacobian one is 0', () => {
    const loss = (kineticWeight: number, jacobianWeight: number) => {
      const c = new CNF({ dim: 2, hidden: [4], layer: 'ignore', trainT: false, kineticWeight, jacobianWeight, rtol: 1e-7, atol: 1e-7 });
      const vars = c.net.variables; // [W1, b1, W2, b2]
      vars.forEach((v) => v.assign(tf.zerosLike(v)));
      vars[3]!.assign(tf.tensor1d([0.6, -0.8]));
      const flow = new Flow(c, new StandardNormal(2));
      const x = tf.tensor2d([[0.1, 0.2], [-0.3, 0.5]]);
      const v = tf.tidy(() => flow.loss(x).dataSync()[0]!);
      x.dispose();
      flow.dispose();
      return v;
    };
    const base = loss(0, 0);
    expect(loss(2, 0) - base).toBeCloseTo(2 * 0.5 * 1.0, 5);
    expect(loss(0, 3) - base).toBeCloseTo(0, 6);
  });

  it.each(['direct', 'backsolve'] as const)('the kinetic penalty gets the right gradient (finite differences, %s)', (gradient) => {
    // Exact trace and no Jacobian term: no probe, so the loss is a deterministic function of W.
    const c = new CNF({ dim: 2, hidden: [8], seed: 2, rtol: 1e-7, atol: 1e-7, kineticWeight: 1, gradient });
    c.net.variables.forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', i + 1)));
    const flow = new Flow(c, new StandardNormal(2));
    const x = tf.tensor2d([[0.3, -0.5], [1.2, 0.7]]);
    const W = c.net.variables[0]!;
    const { value, grads } = tf.variableGrads(() => flow.loss(x), [W]);
    const g = grads[W.name]!.dataSync()[0]!;
    const w = W.arraySync() as number[][];
    const at = (d: number) => {
      const m = w.map((r) => r.slice());
      m[0]![0]! += d;
      W.assign(tf.tensor2d(m));
      return tf.tidy(() => flow.loss(x).dataSync()[0]!);
    };
    const fd = (at(1e-2) - at(-1e-2)) / 2e-2;
    expect(Math.abs(g - fd)).toBeLessThan(1e-3);
    tf.dispose([x, value, ...Object.values(grads)]);
    flow.dispose();
  });

  it('rejects bad options by name', () => {
    expect(() => new CNF({ dim: 2, T: 0 })).toThrow(/CNF: T must be a positive end time, got 0/);
    expect(() => new ODENet({ dim: 2, layer: 'dense' as never })).toThrow(InvalidArgumentError);
  });

  it('draws trajectories that start at the data and end at the forward map, leaving no tensors', () => {
    const cnf = new CNF({ dim: 2, hidden: [8], rtol: 1e-7, atol: 1e-7 });
    cnf.net.variables.forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 60 + i)));
    const x = tf.randomNormal([6, 2], 0, 1, 'float32', 61) as tf.Tensor2D;
    const paths = cnf.trajectory(x, 5);
    expect(paths).toHaveLength(5);
    const { y, logDet } = cnf.forward(x);
    expect(maxDiff(paths[0]!.flat(), x.dataSync())).toBeLessThan(1e-6);
    expect(maxDiff(paths[4]!.flat(), y.dataSync())).toBeLessThan(1e-4);
    expect(leaks(() => void cnf.trajectory(x, 3))).toEqual([0, 0, 0]);
    tf.dispose([x, y, logDet]);
    cnf.dispose();
  });
});
