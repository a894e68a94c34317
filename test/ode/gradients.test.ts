import { beforeAll, describe, expect, it } from 'vitest';
import { createFlow, odeint, odeintAdjoint, tf, useBackend, ACTIVATIONS, InvalidArgumentError } from '../../src/index.js';
import type { GradientMode, GradientSolution } from '../../src/index.js';
import { leaks, maxDiff, values } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const W0 = [[-0.3, 1.1], [-0.9, -0.2]];
const B0 = [0.1, -0.2];
const Y0 = [[1, 0.5], [-0.3, 0.8], [0.2, -0.4]];
const TS = [0, 0.4, 1];

/** A small neural field f(t, y) = tanh(y Wᵀ + b)·(1 + t/2), its parameters, and a loss on two outputs. */
function setup() {
  const W = tf.variable(tf.tensor2d(W0));
  const b = tf.variable(tf.tensor1d(B0));
  const f = (t: number, y: tf.Tensor) => tf.mul(ACTIVATIONS.tanh(tf.add(tf.matMul(y, W, false, true), b)), 1 + t / 2);
  const loss = (y0: tf.Tensor, gradient: GradientMode, extra: object = {}): tf.Scalar => {
    const sol = odeint(f, y0, TS, { rtol: 1e-6, atol: 1e-6, gradient, params: [W, b], ...extra });
    return tf.add(tf.sum(tf.square(sol.ys[2] as tf.Tensor)), tf.sum(sol.ys[1] as tf.Tensor)) as tf.Scalar;
  };
  return { W, b, f, loss, dispose: () => tf.dispose([W, b]) };
}

function gradients(mode: GradientMode, extra: object = {}) {
  const { W, b, loss, dispose } = setup();
  const y0 = tf.tensor2d(Y0);
  const { value, grads } = tf.variableGrads(() => loss(y0, mode, extra), [W, b]);
  const gy = tf.grad((y: tf.Tensor) => loss(y, mode, extra))(y0);
  const out = { value: value.dataSync()[0]!, W: values(grads[W.name]!), b: values(grads[b.name]!), y0: values(gy) };
  tf.dispose([value, gy, y0, ...Object.values(grads)]);
  dispose();
  return out;
}

/** Central differences of the loss (tight forward tolerance) with respect to every W, b, y0 entry. */
function finiteDifferences() {
  const h = 1e-2;
  const run = (w: number[][], bb: number[], y: number[][]) =>
    tf.tidy(() => {
      const W = tf.tensor2d(w);
      const b = tf.tensor1d(bb);
      const f = (t: number, s: tf.Tensor) => tf.mul(tf.tanh(tf.add(tf.matMul(s, W, false, true), b)), 1 + t / 2);
      const sol = odeint(f, tf.tensor2d(y), TS, { rtol: 1e-8, atol: 1e-8 });
      return tf.add(tf.sum(tf.square(sol.ys[2] as tf.Tensor)), tf.sum(sol.ys[1] as tf.Tensor)).dataSync()[0]!;
    });
  const perturb = (m: number[][], i: number, j: number, d: number) => m.map((r, a) => r.map((v, c) => (a === i && c === j ? v + d : v)));
  const W = W0.flatMap((r, i) => r.map((_, j) => (run(perturb(W0, i, j, h), B0, Y0) - run(perturb(W0, i, j, -h), B0, Y0)) / (2 * h)));
  const b = B0.map((_, j) => (run(W0, B0.map((v, c) => (c === j ? v + h : v)), Y0) - run(W0, B0.map((v, c) => (c === j ? v - h : v)), Y0)) / (2 * h));
  const y0 = Y0.flatMap((r, i) => r.map((_, j) => (run(W0, B0, perturb(Y0, i, j, h)) - run(W0, B0, perturb(Y0, i, j, -h))) / (2 * h)));
  return { W, b, y0 };
}

describe('gradients of tensor solves', () => {
  const fd = finiteDifferences();
  const direct = gradients('direct');
  const backsolve = gradients('backsolve', { adjointRtol: 1e-7, adjointAtol: 1e-7 });
  const checkpoint = gradients('checkpoint');

  it.each([
    ['direct', direct],
    ['backsolve', backsolve],
    ['checkpoint', checkpoint],
  ] as const)('%s matches central finite differences for W, b and y0', (_name, g) => {
    expect(maxDiff(g.W, fd.W)).toBeLessThan(2e-3);
    expect(maxDiff(g.b, fd.b)).toBeLessThan(2e-3);
    expect(maxDiff(g.y0, fd.y0)).toBeLessThan(2e-3);
  });

  it('checkpoint equals direct to float32 round-off (both differentiate the same discrete solve)', () => {
    for (const k of ['W', 'b', 'y0'] as const) expect(maxDiff(checkpoint[k], direct[k])).toBeLessThan(2e-5 * Math.max(1, ...direct[k].map(Math.abs)));
    expect(checkpoint.value).toBe(direct.value);
  });

  it('backsolve converges to the direct gradient as the adjoint tolerance tightens', () => {
    const errs = [1e-2, 1e-4, 1e-7].map((tol) => {
      const g = gradients('backsolve', { adjointRtol: tol, adjointAtol: tol });
      return Math.max(maxDiff(g.W, direct.W), maxDiff(g.b, direct.b), maxDiff(g.y0, direct.y0));
    });
    expect(errs[2]!).toBeLessThan(errs[0]!);
    expect(errs[2]!).toBeLessThan(1e-3);
  });

  it('odeintAdjoint is odeint with gradient backsolve, and reports the backward NFE', () => {
    const { W, b, f, dispose } = setup();
    const y0 = tf.tensor2d(Y0);
    let sol: GradientSolution<tf.Tensor> | undefined;
    const g = tf.grad((y: tf.Tensor) => {
      sol = odeintAdjoint(f, y, TS, { rtol: 1e-5, atol: 1e-5, params: [W, b] });
      return tf.sum(sol.ys[2] as tf.Tensor);
    })(y0);
    expect(sol!.adjointStats!.passes).toBe(1);
    expect(sol!.adjointStats!.nfe).toBeGreaterThan(0);
    tf.dispose([g, y0]);
    dispose();
  });

  it('the seminorm needs no more backward evaluations than the full norm', () => {
    const nfe = (adjointNorm: 'rms' | 'seminorm') => {
      const { W, b, f, dispose } = setup();
      const y0 = tf.tensor2d(Y0);
      let sol: GradientSolution<tf.Tensor> | undefined;
      const { grads, value } = tf.variableGrads(() => {
        sol = odeintAdjoint(f, y0, TS, { rtol: 1e-5, atol: 1e-5, params: [W, b], adjointNorm });
        return tf.sum(tf.square(sol.ys[2] as tf.Tensor)) as tf.Scalar;
      }, [W, b]);
      tf.dispose([value, y0, ...Object.values(grads)]);
      dispose();
      return sol!.adjointStats!.nfe;
    };
    expect(nfe('seminorm')).toBeLessThanOrEqual(nfe('rms'));
  });

  it('trains with optimizer.minimize through backsolve: the loss goes down', () => {
    const { W, b, loss, dispose } = setup();
    const y0 = tf.tensor2d(Y0);
    const opt = tf.train.adam(0.05);
    const first = loss(y0, 'backsolve').dataSync()[0]!;
    for (let i = 0; i < 5; i++) opt.minimize(() => loss(y0, 'backsolve'), false, [W, b]);
    const last = loss(y0, 'backsolve').dataSync()[0]!;
    expect(last).toBeLessThan(first);
    opt.dispose();
    tf.dispose([y0]);
    dispose();
  });

  // tfjs's `all` over an empty tensor is 0 on cpu and arbitrary memory on wasm: the empty
  // parameter adjoint once made every backsolve without parameters fail on cpu.
  it.each(['cpu', 'wasm'] as const)('backsolve with no parameters on %s: the y0 gradient of dy/dt = −y is e^{−t} (closed form)', async (backend) => {
    await useBackend(backend);
    try {
      const y0 = tf.tensor2d(Y0);
      for (const norm of ['rms', 'max'] as const) {
        const g = tf.tidy(() => values(tf.grad((y: tf.Tensor) => tf.sum(odeint((_t, v) => tf.neg(v), y, [0, 1], { rtol: 1e-7, atol: 1e-7, norm, adjointNorm: 'rms', gradient: 'backsolve', params: [] }).ys[1] as tf.Tensor))(y0)));
        expect(maxDiff(g, g.map(() => Math.exp(-1)))).toBeLessThan(1e-5);
      }
      y0.dispose();
    } finally {
      await useBackend('wasm');
    }
  });

  it.each(['cpu', 'wasm'] as const)('backsolve and checkpoint with params: [] give the direct y0 gradient of a neural field on %s', async (backend) => {
    await useBackend(backend);
    try {
      // Constant weights (not variables): nothing but y0 is differentiated.
      const W = tf.tensor2d(W0);
      const b = tf.tensor1d(B0);
      const f = (t: number, y: tf.Tensor) => tf.mul(tf.tanh(tf.add(tf.matMul(y, W, false, true), b)), 1 + t / 2);
      const y0 = tf.tensor2d(Y0);
      const grad = (gradient: GradientMode) => tf.tidy(() => values(tf.grad((y: tf.Tensor) => {
        const sol = odeint(f, y, TS, { rtol: 1e-7, atol: 1e-7, gradient, params: [] });
        return tf.add(tf.sum(tf.square(sol.ys[2] as tf.Tensor)), tf.sum(sol.ys[1] as tf.Tensor));
      })(y0)));
      const direct = grad('direct');
      expect(maxDiff(grad('backsolve'), direct)).toBeLessThan(1e-4);
      expect(maxDiff(grad('checkpoint'), direct)).toBeLessThan(1e-5);
      tf.dispose([W, b, y0]);
    } finally {
      await useBackend('wasm');
    }
  });

  it.each(['direct', 'backsolve', 'checkpoint'] as const)('%s leaks no tensors over repeated gradient calls', (mode) => {
    const { W, b, loss, dispose } = setup();
    const y0 = tf.tensor2d(Y0);
    expect(leaks(() => {
      const { value, grads } = tf.variableGrads(() => loss(y0, mode), [W, b]);
      tf.dispose([value, ...Object.values(grads)]);
    })).toEqual([0, 0, 0]);
    expect(leaks(() => tf.dispose(odeint((_t, y) => tf.neg(y), y0, TS, { gradient: mode, params: [W] }).ys as tf.Tensor[]))).toEqual([0, 0, 0]);
    y0.dispose();
    dispose();
  });

  it('backsolve with a fixed-step method on the output grid matches checkpoint and direct', () => {
    const grads = (mode: GradientMode) => {
      const { W, b, f, dispose } = setup();
      const y0 = tf.tensor2d(Y0);
      const { value, grads: g } = tf.variableGrads(() => {
        const sol = odeint(f, y0, [0, 0.05, 0.1], { method: 'rk4', gradient: mode, params: [W, b] });
        return tf.sum(tf.square(sol.ys[2] as tf.Tensor)) as tf.Scalar;
      }, [W, b]);
      const out = values(g[W.name]!);
      tf.dispose([value, y0, ...Object.values(g)]);
      dispose();
      return out;
    };
    const d = grads('direct');
    expect(maxDiff(grads('checkpoint'), d)).toBeLessThan(1e-5);
    // rk4 with one step per interval backwards is a different discretisation of the adjoint.
    expect(maxDiff(grads('backsolve'), d)).toBeLessThan(1e-3);
  });
});


describe('backsolve and checkpoint refuse a field that reads trainable variables params does not list', () => {
  /** Expects fn to throw the params error naming `fn` and exactly the variables in `missing`. */
  function expectParamsError(fn: () => unknown, name: string, gradient: string, missing: string[]) {
    let err: unknown = null;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    const e = err as InvalidArgumentError;
    expect(e.fn).toBe(name);
    expect(e.arg).toBe('params');
    expect(e.value).toEqual(missing);
    expect(e.message).toContain(`gradient '${gradient}' reaches only y0 and params`);
    expect(e.message).toMatch(/Add them to params .* or make a constant non-trainable \(variable\.trainable = false\)/);
  }

  it.each(['backsolve', 'checkpoint'] as const)('%s: under tf.variableGrads and optimizer.minimize, naming the missing variables with their shapes, and leaking nothing', (gradient) => {
    const { W, b, f, dispose } = setup();
    const y0 = tf.tensor2d(Y0);
    const loss = () => tf.sum(odeint(f, y0, TS, { rtol: 1e-5, atol: 1e-5, gradient, params: [W] }).ys[2] as tf.Tensor) as tf.Scalar;
    expectParamsError(() => tf.variableGrads(loss, [W, b]), 'odeint', gradient, [`${b.name} [2]`]);
    const opt = tf.train.sgd(0.1);
    expectParamsError(() => opt.minimize(loss, false, [W, b]), 'odeint', gradient, [`${b.name} [2]`]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) expect(() => tf.variableGrads(loss, [W, b])).toThrow(InvalidArgumentError);
    expect(tf.memory().numTensors).toBe(before);
    // Outside a gradient the listed parameters do not matter: no check, no error.
    const sol = odeint(f, y0, TS, { rtol: 1e-5, atol: 1e-5, gradient, params: [] });
    tf.dispose(sol.ys as tf.Tensor[]);
    opt.dispose();
    y0.dispose();
    dispose();
  });

  it('odeintAdjoint without params names itself and every variable f reads', () => {
    const { W, b, f, dispose } = setup();
    const y0 = tf.tensor2d(Y0);
    expectParamsError(() => tf.grad((y: tf.Tensor) => tf.sum(odeintAdjoint(f, y, TS, { rtol: 1e-5, atol: 1e-5 }).ys[2] as tf.Tensor))(y0), 'odeintAdjoint', 'backsolve', [`${W.name} [2, 2]`, `${b.name} [2]`]);
    y0.dispose();
    dispose();
  });

  it('non-trainable variables and variables whose values do not reach f’s output need no listing', () => {
    const { b, dispose } = setup();
    const frozen = tf.variable(tf.tensor2d(W0), false);
    const y0 = tf.tensor2d(Y0);
    // b is read, but only into a value f throws away: no gradient is lost.
    const f = (_t: number, y: tf.Tensor) => {
      tf.sum(b);
      return tf.tanh(tf.matMul(y, frozen, false, true));
    };
    const field = (_t: number, y: tf.Tensor) => tf.tanh(tf.matMul(y, tf.tensor2d(W0), false, true));
    const g = (fn: typeof f, gradient: GradientMode) => tf.tidy(() => values(tf.grad((y: tf.Tensor) => tf.sum(odeint(fn, y, TS, { rtol: 1e-6, atol: 1e-6, gradient, params: [] }).ys[2] as tf.Tensor))(y0)));
    const direct = g(field, 'direct');
    expect(maxDiff(g(f, 'backsolve'), direct)).toBeLessThan(1e-4);
    expect(maxDiff(g(f, 'checkpoint'), direct)).toBeLessThan(1e-5);
    tf.dispose([frozen, y0]);
    dispose();
  });

  // A CNF passes its net's variables; √T enters outside the solve (a zero-valued term), so the
  // check must see only the net's: every trainable variable gets its gradient.
  it.each([['ffjord', 'backsolve'], ['ffjord', 'checkpoint'], ['biflow', 'backsolve']] as const)('a %s flow trains with %s: every trainable variable, √T included, gets a gradient', (type, gradient) => {
    const flow = createFlow({ type, dim: 2, hidden: [8], cnf: { gradient } });
    const x = tf.tensor2d([[0.1, 0.2], [-0.7, 1], [0.3, -0.5]]);
    const vars = flow.trainableVariables;
    const { value, grads } = tf.variableGrads(() => flow.loss(x), vars);
    for (const v of vars) {
      const gv = values(grads[v.name]!);
      expect(gv.every(Number.isFinite)).toBe(true);
    }
    expect(vars.some((v) => v.shape.length === 0 && values(grads[v.name]!)[0] !== 0)).toBe(true); // √T
    tf.dispose([value, ...Object.values(grads)]);
    x.dispose();
    flow.dispose();
  });
});
