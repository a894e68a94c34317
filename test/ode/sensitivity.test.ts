import { describe, expect, it } from 'vitest';
import { adjointSensitivity, odeint, InvalidArgumentError } from '../../src/index.js';
import type { SensitivityArgs } from '../../src/index.js';

/** Relative error of every entry of a against b. */
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!) / Math.abs(b[i]!)));

/** Loss ½Σᵢ‖y(tᵢ) − targetᵢ‖², its central differences in p and y0, and the adjoint's answer. */
function compare(args: Omit<SensitivityArgs, 'dLdy'>, target: number[][]) {
  const tol = { rtol: 1e-12, atol: 1e-12 };
  const solveAt = (p: number[], y0: number[]) =>
    odeint((t, y) => args.f(t, y, Float64Array.from(p)), y0, args.ts, tol).ys;
  const loss = (p: number[], y0: number[]) =>
    solveAt(p, y0).reduce((s, y, i) => s + 0.5 * Array.from(y).reduce((a, v, k) => a + (v - target[i]![k]!) ** 2, 0), 0);
  const p0 = Array.from(args.params);
  const y00 = Array.from(args.y0);
  const dLdy = solveAt(p0, y00).map((y, i) => Array.from(y, (v, k) => v - target[i]![k]!));
  const r = adjointSensitivity({ ...args, dLdy, ...tol });
  const h = 1e-5;
  const bump = (v: number[], j: number, d: number) => v.map((x, k) => (k === j ? x + d : x));
  const fdp = p0.map((_, j) => (loss(bump(p0, j, h), y00) - loss(bump(p0, j, -h), y00)) / (2 * h));
  const fdy = y00.map((_, j) => (loss(p0, bump(y00, j, h)) - loss(p0, bump(y00, j, -h))) / (2 * h));
  return { r, fdp, fdy };
}

describe('adjointSensitivity (float64)', () => {
  it('matches central differences to 1e-6 on a parameterised linear system', () => {
    // y′ = [[p0, p1], [−p1, p2]] y
    const f = (_t: number, y: Float64Array, p: Float64Array) => [p[0]! * y[0]! + p[1]! * y[1]!, -p[1]! * y[0]! + p[2]! * y[1]!];
    const vjp = (_t: number, y: Float64Array, p: Float64Array, a: Float64Array) => ({
      y: [a[0]! * p[0]! - a[1]! * p[1]!, a[0]! * p[1]! + a[1]! * p[2]!],
      p: [a[0]! * y[0]!, a[0]! * y[1]! - a[1]! * y[0]!, a[1]! * y[1]!],
    });
    const { r, fdp, fdy } = compare({ f, vjp, y0: [1, -0.5], ts: [0, 0.7, 2], params: [-0.2, 1.3, -0.4] }, [[0, 0], [0.5, 0.2], [-0.3, 0.1]]);
    expect(relErr(r.dLdp, fdp)).toBeLessThan(1e-6);
    expect(relErr(r.dLdy0, fdy)).toBeLessThan(1e-6);
    expect(r.stats.backward.nfe).toBeGreaterThan(0);
  });

  it('matches central differences to 1e-6 on Lotka–Volterra (four parameters)', () => {
    const f = (_t: number, y: Float64Array, p: Float64Array) => [p[0]! * y[0]! - p[1]! * y[0]! * y[1]!, p[2]! * y[0]! * y[1]! - p[3]! * y[1]!];
    const vjp = (_t: number, y: Float64Array, p: Float64Array, a: Float64Array) => ({
      y: [a[0]! * (p[0]! - p[1]! * y[1]!) + a[1]! * p[2]! * y[1]!, -a[0]! * p[1]! * y[0]! + a[1]! * (p[2]! * y[0]! - p[3]!)],
      p: [a[0]! * y[0]!, -a[0]! * y[0]! * y[1]!, a[1]! * y[0]! * y[1]!, -a[1]! * y[1]!],
    });
    const { r, fdp, fdy } = compare({ f, vjp, y0: [1, 1], ts: [0, 1, 2.5, 4], params: [1.5, 1, 1, 3] }, [[1, 1], [2, 0.5], [1, 2], [3, 1]]);
    expect(relErr(r.dLdp, fdp)).toBeLessThan(1e-6);
    expect(relErr(r.dLdy0, fdy)).toBeLessThan(1e-6);
  });

  it('rejects dLdy of the wrong shape and a vjp of the wrong size', () => {
    const f = (_t: number, y: Float64Array) => [-y[0]!];
    const vjp = () => ({ y: [0, 0], p: [] });
    expect(() => adjointSensitivity({ f, vjp, y0: [1], ts: [0, 1], params: [], dLdy: [[1]] })).toThrow(InvalidArgumentError);
    expect(() => adjointSensitivity({ f, vjp, y0: [1], ts: [0, 1], params: [], dLdy: [[0], [1]] })).toThrow(/vjp must return y with 1 and p with 0 values/);
  });

  it('needs a stepSize with fixed-step methods, and then agrees with dopri5', () => {
    const f = (_t: number, y: Float64Array, p: Float64Array) => [p[0]! * y[0]!];
    const vjp = (_t: number, y: Float64Array, p: Float64Array, a: Float64Array) => ({ y: [a[0]! * p[0]!], p: [a[0]! * y[0]!] });
    const base = { f, vjp, y0: [1], ts: [0, 2], params: [-0.5], dLdy: [[0], [1]] };
    expect(() => adjointSensitivity({ ...base, method: 'rk4' })).toThrow(/stepSize is required with the fixed-step method 'rk4'/);
    const rk4 = adjointSensitivity({ ...base, method: 'rk4', stepSize: 0.01 });
    // L = y(2) = e^{2p}: dL/dp = 2e^{2p}, dL/dy0 = e^{2p}.
    expect(rk4.dLdp[0]).toBeCloseTo(2 * Math.exp(-1), 8);
    expect(rk4.dLdy0[0]).toBeCloseTo(Math.exp(-1), 8);
  });
});

