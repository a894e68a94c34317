import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, odeint, tf, useBackend } from '../../src/index.js';
import type { AutoSolution } from '../../src/index.js';
import { leaks, maxDiff, values } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

describe("method: 'auto' on tensor states", () => {
  // Prothero–Robinson y′ = −λ(y − cos t) per row, exact solution known; row 0 stiff (λ = 1000), row 1 not (λ = 1).
  const lams = [1000, 1];
  const exact = (lam: number, t: number, y0: number): number => {
    const p = (lam * lam * Math.cos(t) + lam * Math.sin(t)) / (lam * lam + 1);
    return p + (y0 - (lam * lam) / (lam * lam + 1)) * Math.exp(-lam * t);
  };

  it('switches the whole [B, D] batch to rodas5 once its stiff row is detected, near where float64 auto switches that row, and reaches the exact solution, leaking nothing', () => {
    const lam = tf.tensor2d(lams, [2, 1]);
    const f = (t: number, y: tf.Tensor): tf.Tensor => tf.tidy(() => tf.mul(tf.sub(y, Math.cos(t)), tf.neg(lam)));
    const y0 = tf.tensor2d([[2], [0.5]]);
    const ts = [0, 0.5, 3];
    const before = tf.memory().numTensors;
    const sol = odeint(f, y0, ts, { method: 'auto', rtol: 1e-5, atol: 1e-6 });
    expect(sol.methodSwitches).toHaveLength(1);
    expect(sol.methodSwitches![0]).toMatchObject({ from: 'tsit5', to: 'rodas5' });
    const f64 = (t: number, y: Float64Array): number[] => [-lams[0]! * (y[0]! - Math.cos(t))];
    const ref = odeint(f64, [2], ts, { method: 'auto', rtol: 1e-5, atol: 1e-6 });
    const tRef = ref.methodSwitches![0]!.t;
    // Measured 0.0675 against 0.0681 (float32 stages against float64 ones).
    expect(Math.abs(sol.methodSwitches![0]!.t - tRef)).toBeLessThan(0.1 * tRef);
    [1, 2].forEach((i) => expect(maxDiff(values(sol.ys[i]!), [exact(lams[0]!, ts[i]!, 2), exact(lams[1]!, ts[i]!, 0.5)])).toBeLessThan(1e-5)); // measured 3e-7, 1.1e-6
    // rodas5 after the switch: few steps where tsit5 alone is held to h·λ ≲ 3.3 (≈ 900 steps to t = 3).
    expect(sol.stats.nAccepted).toBeLessThan(150);
    expect(sol.stats.njev).toBeGreaterThan(0);
    sol.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([lam, y0]);
  });

  it('stays on tsit5 for a non-stiff tensor problem, with exactly the steps and values of tsit5', () => {
    const A = tf.tensor2d([[0, -1], [1, 0]]);
    const f = (_t: number, y: tf.Tensor): tf.Tensor => tf.matMul(y, A);
    const y0 = tf.tensor2d([[1, 0.5], [-0.2, 0.3]]);
    const a = odeint(f, y0, [0, 2, 5], { method: 'auto', rtol: 1e-5, atol: 1e-5 });
    const t = odeint(f, y0, [0, 2, 5], { method: 'tsit5', rtol: 1e-5, atol: 1e-5 });
    expect(a.methodSwitches).toEqual([]);
    expect(a.stats.nSteps).toBe(t.stats.nSteps);
    expect(values(a.ys[2]!)).toEqual(values(t.ys[2]!));
    a.dispose();
    t.dispose();
    tf.dispose([A, y0]);
  });
});

describe("gradients of method: 'auto' on tensor states", () => {
  // The stiff neural field of stiff-tensor.test.ts: f(y) = −K⊙y + tanh(y Wᵀ + b), K = (500, 1).
  const W0 = [[-0.3, 1.1], [-0.9, -0.2]];
  const B0 = [0.1, -0.2];
  const Y0 = [[1, 0.5], [-0.3, 0.8], [0.2, -0.4]];
  const K = [500, 1];
  const ts = [0, 0.3, 1];

  function loss64(W: number[][], b: number[], Y: number[][]): number {
    let L = 0;
    for (const y0 of Y) {
      const f = (_t: number, y: Float64Array): number[] => [0, 1].map((i) => -K[i]! * y[i]! + Math.tanh(W[i]![0]! * y[0]! + W[i]![1]! * y[1]! + b[i]!));
      const ys = odeint(f, y0, ts, { method: 'rodas5', rtol: 1e-12, atol: 1e-14 }).ys;
      L += ys[2]![0]! ** 2 + ys[2]![1]! ** 2 + ys[1]![0]! + ys[1]![1]!;
    }
    return L;
  }
  const h = 1e-6;
  const central = (perturb: (s: number) => [number[][], number[], number[][]]): number => (loss64(...perturb(h)) - loss64(...perturb(-h))) / (2 * h);
  const fd: number[] = [];
  W0.forEach((row, i) => row.forEach((_, j) => fd.push(central((s) => [W0.map((r, p) => r.map((w, q) => (p === i && q === j ? w + s : w))), B0, Y0]))));
  B0.forEach((_, i) => fd.push(central((s) => [W0, B0.map((v, p) => (p === i ? v + s : v)), Y0])));
  Y0.forEach((row, i) => row.forEach((_, j) => fd.push(central((s) => [W0, B0, Y0.map((r, p) => r.map((y, q) => (p === i && q === j ? y + s : y)))]))));

  it.each(['direct', 'checkpoint'] as const)('%s gradient (∂/∂W, ∂/∂b, ∂/∂y0) across the tsit5 → rodas5 switch matches central differences of the float64 solve, leaking nothing', (gradient) => {
    const W = tf.variable(tf.tensor2d(W0));
    const b = tf.variable(tf.tensor1d(B0));
    const Kt = tf.tensor1d(K);
    const y0 = tf.tensor2d(Y0);
    const f = (_t: number, y: tf.Tensor): tf.Tensor => tf.add(tf.neg(tf.mul(Kt, y)), ACTIVATIONS.tanh(tf.add(tf.matMul(y, W, false, true), b)));
    const switches: number[] = [];
    const loss = (y: tf.Tensor): tf.Scalar => {
      const sol = odeint(f, y, ts, { method: 'auto', gradient, params: [W, b], rtol: 1e-6, atol: 1e-6 });
      switches.push(...sol.methodSwitches!.map((s) => s.t));
      return tf.add(tf.sum(tf.square(sol.ys[2]!)), tf.sum(sol.ys[1]!)) as tf.Scalar;
    };
    const run = (): number[] => {
      const { value, grads } = tf.variableGrads(() => loss(y0), [W, b]);
      const gy = tf.grad(loss)(y0);
      const g = [...values(grads[W.name]!), ...values(grads[b.name]!), ...values(gy)];
      tf.dispose([value, gy, ...Object.values(grads)]);
      return g;
    };
    const before = tf.memory().numTensors;
    const g = run();
    expect(tf.memory().numTensors).toBe(before);
    // The switch happened inside the first interval, so both methods carry the gradient.
    expect(switches.length).toBe(2);
    for (const t of switches) expect(t).toBeGreaterThan(0);
    for (const t of switches) expect(t).toBeLessThan(ts[1]!);
    // Measured 5.6e-7 (direct) and 3.6e-7 (checkpoint), switch at t = 0.152.
    expect(maxDiff(g, fd) / Math.max(...fd.map(Math.abs))).toBeLessThan(1e-5);
    expect(leaks(() => tf.tidy(() => tf.grad(loss)(y0)))).toEqual([0, 0, 0]);
    tf.dispose([W, b, Kt, y0]);
  });

  it('a checkpoint auto solve reports its switch and the statistics of both parts and of the backward pass', () => {
    const y0 = tf.tensor2d(Y0);
    const Kt = tf.tensor1d(K);
    const f = (_t: number, y: tf.Tensor): tf.Tensor => tf.sub(tf.tanh(y), tf.mul(Kt, y));
    let sol: AutoSolution<tf.Tensor> | null = null;
    const g = tf.grad((y: tf.Tensor) => {
      sol = odeint(f, y, ts, { method: 'auto', gradient: 'checkpoint', params: [], rtol: 1e-5, atol: 1e-5 }) as AutoSolution<tf.Tensor>;
      return tf.sum(sol.ys[2]!);
    })(y0);
    const s = sol! as AutoSolution<tf.Tensor> & { adjointStats: { nfe: number; passes: number } };
    expect(s.methodSwitches).toHaveLength(1);
    expect(s.stats.njev).toBeGreaterThan(0);
    expect(s.adjointStats.passes).toBe(1);
    expect(s.adjointStats.nfe).toBeGreaterThan(0);
    tf.dispose([g, y0, Kt]);
  });
});
