import { describe, expect, it } from 'vitest';
import {
  odeint, solve, ConstantStepSize, Dopri5, Tsit5, Euler, PIDController, SaveAt, TABLEAUX, float64Space,
} from '../../src/index.js';
import { dopri5Loop } from '../../bench/reference/dopri5-loop.js';
import { ARENSTORF, PROBLEMS, maxAbsDiff } from '../helpers.js';

const osc = (_t: number, y: Float64Array): number[] => [y[1]!, -y[0]!];

describe('odeint and solve', () => {
  it('follows the API contract: ts, ys (one Float64Array per time), stats', () => {
    const sol = odeint((_t, y) => [y[1]!, -y[0]!], Float64Array.of(1, 0), [0, 1, 2], { method: 'dopri5', rtol: 1e-8, atol: 1e-10 });
    expect(sol.ts).toEqual([0, 1, 2]);
    expect(sol.ys).toHaveLength(3);
    sol.ys.forEach((y) => expect(y).toBeInstanceOf(Float64Array));
    expect(sol.ys[2]![0]).toBeCloseTo(Math.cos(2), 7);
    expect(Object.keys(sol.stats).sort()).toEqual(['nAccepted', 'nRejected', 'nSteps', 'nfe', 'njev', 'nlu']);
    expect([sol.stats.njev, sol.stats.nlu]).toEqual([0, 0]); // explicit methods form no Jacobian
    expect(sol.stats.nSteps).toBe(sol.stats.nAccepted + sol.stats.nRejected);
  });

  it('counts evaluations exactly: 1 + 1 (initial step) + 6 per dopri5 step', () => {
    const sol = odeint(osc, [1, 0], [0, 5], { rtol: 1e-6, atol: 1e-9 });
    expect(sol.stats.nfe).toBe(2 + 6 * sol.stats.nSteps);
    let calls = 0;
    odeint((t, y) => (calls++, osc(t, y)), [1, 0], [0, 5], { rtol: 1e-6, atol: 1e-9 });
    expect(calls).toBe(sol.stats.nfe);
  });

  it('takes the same steps and answer as a hand-written dopri5 loop on every benchmark problem', () => {
    for (const p of PROBLEMS) {
      for (const tol of [1e-4, 1e-8]) {
        const ref = dopri5Loop(p.f, p.y0, 0, p.t1, tol, tol);
        const sol = odeint(p.f, p.y0, [0, p.t1], { rtol: tol, atol: tol });
        expect(sol.stats.nAccepted).toBe(ref.nAccepted);
        expect(sol.stats.nRejected).toBe(ref.nRejected);
        expect(sol.stats.nfe).toBe(ref.nfe);
        expect(maxAbsDiff(sol.ys[1]!, ref.y)).toBeLessThan(1e-9 * Math.max(1, ...Array.from(ref.y, Math.abs)));
      }
    }
  });

  it('accepts a vector field that writes into its third argument (no allocation per call)', () => {
    const a = odeint(ARENSTORF.f, ARENSTORF.y0, [0, 2], { rtol: 1e-9, atol: 1e-9 });
    const dy = new Float64Array(4);
    const b = odeint((t, y) => (ARENSTORF.f(t, y, dy), Array.from(dy)), ARENSTORF.y0, [0, 2], { rtol: 1e-9, atol: 1e-9 });
    expect(Array.from(a.ys[1]!)).toEqual(Array.from(b.ys[1]!));
  });

  it('returns y0 (a copy) when t0 == t1, with no evaluations', () => {
    const y0 = Float64Array.of(3, 4);
    const sol = solve({ f: osc, y0, t0: 1, t1: 1, controller: new PIDController({ rtol: 1e-6, atol: 1e-9 }) });
    expect(sol.ts).toEqual([1]);
    expect(Array.from(sol.ys[0]!)).toEqual([3, 4]);
    expect(sol.ys[0]).not.toBe(y0);
    expect(sol.stats.nfe).toBe(0);
    expect(odeint(osc, y0, [2]).ys).toHaveLength(1);
  });

  it('does not modify the caller’s y0', () => {
    const y0 = Float64Array.of(1, 0);
    odeint(osc, y0, [0, 3]);
    expect(Array.from(y0)).toEqual([1, 0]);
  });

  it('accepts plain number arrays for y0', () => {
    expect(odeint(osc, [1, 0], [0, Math.PI], { rtol: 1e-10, atol: 1e-12 }).ys[1]![0]).toBeCloseTo(-1, 9);
  });

  it('uses per-component tolerances: a loose component drives fewer steps', () => {
    const f = (_t: number, y: Float64Array): number[] => [y[1]!, -y[0]!, -y[2]!];
    const tight = odeint(f, [1, 0, 1], [0, 10], { rtol: 1e-10, atol: 1e-10 });
    const mixed = odeint(f, [1, 0, 1], [0, 10], { rtol: [1e-4, 1e-4, 1e-10], atol: [1e-4, 1e-4, 1e-10] });
    expect(mixed.stats.nSteps).toBeLessThan(tight.stats.nSteps);
    expect(mixed.ys[1]![2]).toBeCloseTo(Math.exp(-10), 9);
  });

  it('supports the max norm and a custom norm', () => {
    const rms = odeint(osc, [1, 0], [0, 10], { rtol: 1e-8, atol: 1e-8 });
    const max = odeint(osc, [1, 0], [0, 10], { rtol: 1e-8, atol: 1e-8, norm: 'max' });
    const custom = odeint(osc, [1, 0], [0, 10], { rtol: 1e-8, atol: 1e-8, norm: (e) => Math.abs(e[0]!) });
    expect(max.stats.nSteps).toBeGreaterThan(rms.stats.nSteps);
    expect(custom.stats.nSteps).toBeLessThan(max.stats.nSteps);
    expect(max.ys[1]![0]).toBeCloseTo(Math.cos(10), 6);
  });

  it('honours firstStep and maxStep', () => {
    const sol = solve({
      f: osc, y0: [1, 0], t0: 0, t1: 10, solver: new Dopri5(), saveAt: SaveAt.steps(),
      controller: new PIDController({ rtol: 1e-3, atol: 1e-3, firstStep: 0.01, maxStep: 0.25 }),
    });
    expect(sol.ts[1]).toBeCloseTo(0.01, 15);
    const steps = sol.ts.slice(1).map((t, i) => t - sol.ts[i]!);
    expect(Math.max(...steps)).toBeLessThanOrEqual(0.25 * 1.01 + 1e-12);
  });

  it('runs PI and PID control to the same accuracy as integral control', () => {
    for (const [pcoeff, icoeff, dcoeff] of [[0.4, 0.3, 0], [0.3, 0.3, 0.1]] as const) {
      const sol = solve({
        f: ARENSTORF.f, y0: ARENSTORF.y0, t0: 0, t1: ARENSTORF.t1, solver: new Tsit5(),
        controller: new PIDController({ rtol: 1e-9, atol: 1e-9, pcoeff, icoeff, dcoeff }),
      });
      expect(Math.hypot(sol.ys[0]![0]! - 0.994, sol.ys[0]![1]!)).toBeLessThan(1e-3);
    }
  });

  it('SaveAt.steps() returns t0 and every accepted step; SaveAt.dense() interpolates anywhere', () => {
    const steps = solve({ f: osc, y0: [1, 0], t0: 0, t1: 5, controller: new PIDController({ rtol: 1e-8, atol: 1e-8 }), saveAt: SaveAt.steps() });
    expect(steps.ts).toHaveLength(steps.stats.nAccepted + 1);
    expect(steps.ts[steps.ts.length - 1]).toBe(5);
    const dense = solve({ f: osc, y0: [1, 0], t0: 0, t1: 5, controller: new PIDController({ rtol: 1e-9, atol: 1e-9 }), saveAt: SaveAt.dense() });
    expect(dense.ts).toEqual([5]);
    for (const t of [0, 0.123, 1.7, 2.5, 4.99, 5]) expect(dense.evaluate(t)[0]).toBeCloseTo(Math.cos(t), 8);
    expect(dense.dense!.steps).toBe(dense.stats.nAccepted);
  });

  it('hits each requested time by interpolation without shortening steps', () => {
    const few = odeint(osc, [1, 0], [0, 10], { rtol: 1e-6, atol: 1e-9 });
    const many = odeint(osc, [1, 0], Array.from({ length: 101 }, (_, i) => i / 10), { rtol: 1e-6, atol: 1e-9 });
    expect(many.stats.nSteps).toBe(few.stats.nSteps);
    expect(many.ys[37]![0]).toBeCloseTo(Math.cos(3.7), 5);
  });

  it('steps fixed-step methods on the requested grid by default, or by stepSize', () => {
    const grid = odeint(osc, [1, 0], [0, 0.5, 1], { method: 'rk4' });
    expect(grid.stats.nSteps).toBe(2);
    const fine = odeint(osc, [1, 0], [0, 0.5, 1], { method: 'rk4', stepSize: 0.01 });
    expect(fine.stats.nSteps).toBe(100);
    expect(fine.ys[2]![0]).toBeCloseTo(Math.cos(1), 9);
    // A step that does not divide the interval: the last step is shortened to land on t1.
    const odd = solve({ f: osc, y0: [1, 0], t0: 0, t1: 1, solver: new Euler(), controller: new ConstantStepSize({ dt: 0.3 }), saveAt: SaveAt.steps() });
    expect(odd.ts).toEqual([0, 0.3, 0.6, expect.closeTo(0.9, 14), 1]);
  });

  it('every built-in method solves the oscillator through odeint', () => {
    for (const method of Object.keys(TABLEAUX) as (keyof typeof TABLEAUX)[]) {
      const fixed = !TABLEAUX[method].adaptive;
      const sol = odeint(osc, [1, 0], [0, 1], { method, rtol: 1e-8, atol: 1e-10, stepSize: fixed ? 1e-3 : undefined });
      expect(sol.ys[1]![0]).toBeCloseTo(Math.cos(1), method === 'euler' ? 2 : 5);
    }
  });
});

describe('the fused float64 step', () => {
  // The same space without its fused kernel: the solver falls back to the generic RK step.
  const genericSpace = Object.create(float64Space, { fusedStepper: { value: undefined } }) as typeof float64Space;

  it.each(Object.keys(TABLEAUX))('%s: takes the same steps to the same answer as the generic step', (method) => {
    const fixed = !TABLEAUX[method as keyof typeof TABLEAUX].adaptive;
    const opts = { method: method as keyof typeof TABLEAUX, rtol: 1e-7, atol: 1e-9, stepSize: fixed ? 0.01 : undefined };
    const fused = odeint(ARENSTORF.f, ARENSTORF.y0, [0, 3], opts);
    const generic = odeint(ARENSTORF.f, ARENSTORF.y0, [0, 3], { ...opts, space: genericSpace });
    expect(generic.stats).toEqual(fused.stats);
    expect(maxAbsDiff(generic.ys[1]!, fused.ys[1]!)).toBeLessThan(1e-12);
  });

  it('checks the length of an array returned by f inside the fused step', () => {
    let calls = 0;
    const f = (_t: number, y: Float64Array): number[] => (++calls > 3 ? [y[0]!] : [y[1]!, -y[0]!]);
    expect(() => odeint(f, [1, 0], [0, 1])).toThrow(/f returned 1 values/);
  });
});
