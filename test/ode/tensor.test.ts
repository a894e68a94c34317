import { beforeAll, describe, expect, it } from 'vitest';
import { odeint, solve, tf, useBackend, PIDController, Tsit5, SaveAt, RK_METHOD_NAMES, TABLEAUX, InvalidArgumentError } from '../../src/index.js';
import { LINEAR_A, LINEAR_Y0, linearExact } from '../helpers.js';
import { leaks, maxDiff, values } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

// y' = A y for a batch of three states: rows of Y evolve as Y' = Y Aᵀ.
const A = () => tf.tensor2d(LINEAR_A);
const batch = () => tf.tensor2d([Array.from(LINEAR_Y0), [0.2, -0.1, 0.4], [-1, 0.3, 0.0]]);
const field = (At: tf.Tensor) => (_t: number, y: tf.Tensor) => tf.matMul(y, At, false, true);

describe('tensor states', () => {
  it.each(RK_METHOD_NAMES)('%s solves a batched linear system to float32 accuracy with no solver changes', (method) => {
    const At = A();
    const y0 = batch();
    const fixed = !TABLEAUX[method].adaptive;
    const sol = odeint(field(At), y0, [0, 1], { method, rtol: 1e-6, atol: 1e-6, stepSize: fixed ? (method === 'rk4' ? 0.01 : 1e-3) : undefined });
    const y1 = values(sol.ys[1] as tf.Tensor);
    expect(maxDiff(y1.slice(0, 3), linearExact(1))).toBeLessThan(method === 'euler' ? 2e-3 : 2e-5);
    tf.dispose([At, y0, ...(sol.ys as tf.Tensor[])]);
  });

  it('keeps time in float64 and hits requested times by interpolation', () => {
    const At = A();
    const y0 = batch();
    const ts = [0, 0.1, 0.35, 0.7, 1];
    const sol = odeint(field(At), y0, ts, { rtol: 1e-6, atol: 1e-7 });
    expect(sol.ts).toEqual(ts);
    ts.forEach((t, i) => expect(maxDiff(values(sol.ys[i] as tf.Tensor).slice(0, 3), linearExact(t))).toBeLessThan(1e-5));
    tf.dispose([At, y0, ...(sol.ys as tf.Tensor[])]);
  });

  it('solves tuples [z, logp] with each element scaled, and a seminorm that ignores chosen elements', () => {
    const At = A();
    const z0 = batch();
    const l0 = tf.zeros([3, 1]);
    // logp' = −tr(A) for a linear field: logp(t) = −t·tr(A).
    const trace = LINEAR_A[0]![0]! + LINEAR_A[1]![1]! + LINEAR_A[2]![2]!;
    const f = (_t: number, [z]: tf.Tensor[]) => [tf.matMul(z!, At, false, true), tf.fill([3, 1], -trace)];
    const sol = odeint(f, [z0, l0], [0, 1], { rtol: 1e-6, atol: 1e-6 });
    const [z1, l1] = sol.ys[1] as tf.Tensor[];
    expect(maxDiff(values(z1!).slice(0, 3), linearExact(1))).toBeLessThan(1e-5);
    values(l1!).forEach((v) => expect(v).toBeCloseTo(-trace, 5));
    tf.dispose([At, z0, l0, ...(sol.ys as tf.Tensor[][]).flat()]);
  });

  it('leaves no tensors behind but its outputs, over repeated solves of every kind', () => {
    const At = A();
    const y0 = batch();
    const f = field(At);
    expect(leaks(() => tf.dispose(odeint(f, y0, [0, 0.5, 1], { rtol: 1e-5, atol: 1e-5 }).ys as tf.Tensor[]))).toEqual([0, 0, 0]);
    expect(leaks(() => tf.dispose(odeint(f, y0, [0, 1], { method: 'rk4', stepSize: 0.1 }).ys as tf.Tensor[]))).toEqual([0, 0, 0]);
    expect(leaks(() => {
      const sol = solve({ f, y0, t0: 0, t1: 1, solver: new Tsit5(), controller: new PIDController({ rtol: 1e-5, atol: 1e-5 }), saveAt: SaveAt.dense() });
      const mid = sol.evaluate(0.5);
      mid.dispose();
      sol.dispose();
    })).toEqual([0, 0, 0]);
    expect(leaks(() => tf.tidy(() => { odeint(f, y0, [0, 1], { rtol: 1e-5, atol: 1e-5 }); }))).toEqual([0, 0, 0]);
    tf.dispose([At, y0]);
  });

  it('rejects a field that returns the wrong shape, naming it', () => {
    const y0 = batch();
    expect(() => odeint(() => tf.zeros([3, 2]), y0, [0, 1])).toThrow(InvalidArgumentError);
    expect(() => odeint(() => tf.zeros([3, 2]), y0, [0, 1])).toThrow(/odeint: f returned a tensor of shape \[3, 2\] at t = 0 for a state of shape \[3, 3\]/);
    y0.dispose();
  });

  it('rejects per-component tolerance arrays for tensors with a clear message', () => {
    const y0 = batch();
    expect(() => odeint((_t, y) => tf.neg(y), y0, [0, 1], { rtol: [1e-3, 1e-3, 1e-3] })).toThrow(/rtol must be a non-negative finite number for tensor states/);
    y0.dispose();
  });

  it('frees everything when a solve fails part-way (f throws, or a NaN persists)', () => {
    const y0 = batch();
    const ts = [0, 0.1, 0.2, 0.3, 2];
    const before = tf.memory().numTensors;
    expect(() => odeint((t, y) => { if (t > 0.5) throw new Error('boom'); return tf.neg(y); }, y0, ts)).toThrow('boom');
    expect(() => odeint((t, y) => (t > 0.5 ? tf.mul(y, NaN) : tf.neg(y)), y0, ts)).toThrow(/non-finite/);
    expect(tf.memory().numTensors).toBe(before);
    y0.dispose();
  });

  it('never disposes tensors the caller owns that f returns (a constant drift, a variable)', () => {
    const y0 = batch();
    const drift = tf.ones([3, 3]);
    const v = tf.variable(tf.zeros([3, 1]));
    const sol = odeint(() => drift, y0, [0, 1], { rtol: 1e-6, atol: 1e-6 });
    const tup = odeint((_t, [z]) => [tf.neg(z!), v], [y0, tf.zeros([3, 1])], [0, 1]);
    expect(drift.isDisposed).toBe(false);
    expect(v.isDisposed).toBe(false);
    expect(values(sol.ys[1] as tf.Tensor)[0]).toBeCloseTo(Array.from(LINEAR_Y0)[0]! + 1, 5);
    sol.dispose();
    tup.dispose();
    tf.dispose([y0, drift, v]);
  });
});

