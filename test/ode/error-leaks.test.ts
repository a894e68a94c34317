import { beforeAll, describe, expect, it } from 'vitest';
import { CNF, createFlow, odeint, tf, useBackend, MaxStepsExceededError, NonFiniteError } from '../../src/index.js';
import type { GradientMode } from '../../src/index.js';
import { maxDiff, values } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const buffers = (): number => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();

/**
 * Runs fn `times` times, expecting it to throw `type` each time; returns the engine tensors and
 * backend buffers each call left behind (all should be 0, the first call included).
 */
function leaksOnThrow(fn: () => void, type: new (...args: never[]) => Error, times = 3): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < times; i++) {
    const before = [tf.memory().numTensors, buffers()];
    let thrown: unknown = null;
    try {
      fn();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(type);
    out.push([tf.memory().numTensors - before[0]!, buffers() - before[1]!]);
  }
  return out;
}
const none = [[0, 0], [0, 0], [0, 0]];

/** A neural field that turns NaN once t passes `nanAfter.t` (∞: never). */
function setup() {
  const W = tf.variable(tf.tensor2d([[-0.3, 1.1], [-0.9, -0.2]]));
  const b = tf.variable(tf.tensor1d([0.1, -0.2]));
  const y0 = tf.tensor2d([[1, 0.5], [-0.3, 0.8], [0.2, -0.4]]);
  const nanAfter = { t: 0.5 };
  const f = (t: number, y: tf.Tensor) => tf.tidy(() => {
    const v = tf.tanh(tf.add(tf.matMul(y, W, false, true), b));
    return t > nanAfter.t ? tf.mul(v, NaN) : v;
  });
  return { W, b, y0, f, nanAfter, dispose: () => tf.dispose([W, b, y0]) };
}

const MODES = ['direct', 'backsolve', 'checkpoint'] as const;
/** Disposes a MaxStepsExceededError's partial solution (the caller's, by contract) and rethrows. */
const releasePartial = (e: unknown): never => {
  if (e instanceof MaxStepsExceededError) (e.partial as { dispose(): void }).dispose();
  throw e;
};

describe('a solve that throws leaks nothing: tensors and backend buffers', () => {
  it.each(MODES)('%s: a NaN field (NonFiniteError) and maxSteps (MaxStepsExceededError), outside and inside tf.variableGrads', (gradient) => {
    const { W, b, y0, f, dispose } = setup();
    const cases = [
      { type: NonFiniteError, opts: { gradient, params: [W, b], rtol: 1e-6, atol: 1e-6 } },
      { type: MaxStepsExceededError, opts: { gradient, params: [W, b], rtol: 1e-6, atol: 1e-6, maxSteps: 2 } },
    ];
    for (const { type, opts } of cases) {
      const solveOnce = () => odeint(f, y0, [0, 0.4, 1], opts);
      expect(leaksOnThrow(() => {
        try {
          tf.dispose(solveOnce().ys as tf.Tensor[]);
        } catch (e) {
          releasePartial(e);
        }
      }, type)).toEqual(none);
      expect(leaksOnThrow(() => {
        try {
          const { value, grads } = tf.variableGrads(() => tf.sum(solveOnce().ys[2] as tf.Tensor) as tf.Scalar, [W, b]);
          tf.dispose([value, ...Object.values(grads)]);
        } catch (e) {
          releasePartial(e);
        }
      }, type)).toEqual(none);
    }
    dispose();
  });

  it.each(['backsolve', 'checkpoint'] as const)('%s: a backward pass that throws frees the abandoned tape and the loss value', (gradient) => {
    const { W, b, y0, f, nanAfter, dispose } = setup();
    expect(leaksOnThrow(() => {
      nanAfter.t = Infinity; // the forward solve succeeds; the backward one meets NaN
      try {
        const { value, grads } = tf.variableGrads(() => {
          const sol = odeint(f, y0, [0, 0.4, 1], { gradient, params: [W, b], rtol: 1e-6, atol: 1e-6 });
          nanAfter.t = 0.5;
          return tf.add(tf.sum(tf.square(sol.ys[2] as tf.Tensor)), tf.sum(tf.mul(W, 2))) as tf.Scalar;
        }, [W, b]);
        tf.dispose([value, ...Object.values(grads)]);
      } finally {
        nanAfter.t = 0.5;
      }
    }, NonFiniteError)).toEqual(none);
    dispose();
  });

  it.each(MODES)('%s: tuple states [y, s] fail without leaks inside tf.grad', (gradient) => {
    const { W, b, y0, f, dispose } = setup();
    const g = (t: number, [y, s]: tf.Tensor[]) => [f(t, y!), tf.neg(s!)];
    expect(leaksOnThrow(() => {
      tf.grad((y: tf.Tensor) => {
        const sol = odeint(g, [y, tf.onesLike(y)], [0, 1], { gradient, params: [W, b], rtol: 1e-6, atol: 1e-6 });
        return tf.sum(sol.ys[1]![0]!);
      })(y0);
    }, NonFiniteError)).toEqual(none);
    dispose();
  });

  it.each(MODES)('%s: an error caught inside the taped function leaves the rest of the gradient intact', (gradient) => {
    const { W, b, y0, f, dispose } = setup();
    const { value, grads } = tf.variableGrads(() => {
      const before = tf.sum(tf.square(W)); // recorded before the failing solve: must still count
      try {
        odeint(f, y0, [0, 1], { gradient, params: [W, b], rtol: 1e-6, atol: 1e-6 });
      } catch (e) {
        expect(e).toBeInstanceOf(NonFiniteError);
      }
      return tf.add(before, tf.sum(b)) as tf.Scalar;
    }, [W, b]);
    expect(maxDiff(values(grads[W.name]!), values(W).map((w) => 2 * w))).toBeLessThan(1e-6);
    expect(values(grads[b.name]!)).toEqual([1, 1]);
    tf.dispose([value, ...Object.values(grads)]);
    dispose();
  });

  // A field that turns non-finite (NaN weights) makes the CNF's solve throw in every gradient mode;
  // the fused op holds backend buffers for its backward pass while taped, which must go too. A NaN
  // *row* no longer throws (it gets log-density NaN, see Flow), and must leak nothing either.
  it.each([
    ['ffjord', 'backsolve', true], ['ffjord', 'direct', true], ['ffjord', 'checkpoint', true], ['ffjord', 'direct', false], ['biflow', 'direct', true],
  ] as const)('a %s flow (%s, fused %s): a loss whose solve fails, and a loss on a NaN row, under tf.variableGrads', (type, gradient, fused) => {
    const flow = createFlow({ type, dim: 2, hidden: [8], cnf: { gradient: gradient as GradientMode, fused } });
    const x = tf.tensor2d([[0.1, 0.2], [NaN, 1], [0.3, -0.5]]);
    const loss = () => {
      const { value, grads } = tf.variableGrads(() => flow.loss(x), flow.trainableVariables);
      const v = value.dataSync()[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      return v;
    };
    // A pass outside any tape between the losses (the fused op's saved tensors belong to the
    // engine's tape, which frees them when it is done; see nn/fused-field.ts).
    const settle = () => flow.logProb(x).dispose();
    settle();
    for (let i = 0; i < 3; i++) {
      const before = [tf.memory().numTensors, buffers()];
      expect(loss()).toBeNaN();
      settle();
      expect([tf.memory().numTensors - before[0]!, buffers() - before[1]!]).toEqual([0, 0]);
    }
    const cnfWeight = flow.trainableVariables.find((v) => v.rank === 2)!;
    const saved = tf.keep(cnfWeight.clone());
    cnfWeight.assign(tf.fill(cnfWeight.shape, NaN));
    expect(leaksOnThrow(loss, NonFiniteError)).toEqual(none);
    cnfWeight.assign(saved);
    saved.dispose();
    x.dispose();
    flow.dispose();
  });
  it('a bare CNF block under the caller own tape: a failed solve leaks nothing', () => {
    const cnf = new CNF({ dim: 2, hidden: [8] });
    const x = tf.tensor2d([[0.1, 0.2], [0.3, -0.5]]);
    const W = cnf.net.variables.find((v) => v.rank === 2)!;
    W.assign(tf.fill(W.shape, NaN));
    expect(leaksOnThrow(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(cnf.forward(x).logDet) as tf.Scalar, cnf.trainableVariables);
      tf.dispose([value, ...Object.values(grads)]);
    }, NonFiniteError)).toEqual(none);
    x.dispose();
    cnf.dispose();
  });
});
