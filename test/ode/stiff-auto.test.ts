import { describe, expect, it } from 'vitest';
import { LOTKA_VOLTERRA, MaxStepsExceededError, RELAXATION, ROBERTSON, VAN_DER_POL_STIFF, odeint, relaxationExact } from '../../src/index.js';
import type { AutoSolution } from '../../src/index.js';

const auto = (sol: unknown): AutoSolution<Float64Array> => sol as AutoSolution<Float64Array>;

describe("method: 'auto'", () => {
  it('stays on tsit5 for a non-stiff problem, with exactly the steps and results of tsit5', () => {
    const p = LOTKA_VOLTERRA;
    const ts = [0, 3, 7.5, p.t1];
    const a = auto(odeint(p.f, p.y0, ts, { method: 'auto', rtol: 1e-8, atol: 1e-10 }));
    const t = odeint(p.f, p.y0, ts, { method: 'tsit5', rtol: 1e-8, atol: 1e-10 });
    expect(a.methodSwitches).toEqual([]);
    expect(a.ys.map((y) => Array.from(y))).toEqual(t.ys.map((y) => Array.from(y)));
    expect(a.stats.nSteps).toBe(t.stats.nSteps);
    expect(a.events).toEqual([]);
  });

  it('switches once to rodas5 on Van der Pol μ = 1000, early, and matches the reference (scipy Radau, rtol 1e-13)', () => {
    const p = VAN_DER_POL_STIFF;
    const a = auto(odeint(p.f, p.y0, [0, 500, 3000], { method: 'auto', rtol: 1e-6, atol: 1e-6 }));
    expect(a.methodSwitches).toHaveLength(1);
    expect(a.methodSwitches[0]).toMatchObject({ from: 'tsit5', to: 'rodas5' });
    expect(a.methodSwitches[0]!.t).toBeLessThan(1);
    const ref = [[1.5967689510526837, -0.0010303911878392935], [-1.510606936744174, 0.0011783800007307864]];
    ref.forEach((r, i) => r.forEach((v, j) => expect(Math.abs(a.ys[i + 1]![j]! - v) / (1e-6 + 1e-6 * Math.abs(v))).toBeLessThan(50)));
    expect(a.stats.njev).toBeGreaterThan(0);
    // tsit5 alone is held to its stability limit: it cannot get past t = 200 in the same number of steps.
    let reached = Infinity;
    try {
      odeint(p.f, p.y0, [0, 3000], { method: 'tsit5', rtol: 1e-6, atol: 1e-6, maxSteps: 10 * a.stats.nSteps });
    } catch (e) {
      expect(e).toBeInstanceOf(MaxStepsExceededError);
      reached = (e as MaxStepsExceededError).t;
    }
    expect(reached).toBeLessThan(200);
  });

  it("detects Robertson's stiffness early at a tight tolerance too (the estimate weighs the tiny, tightly controlled y₂)", () => {
    const a = auto(odeint(ROBERTSON.f, ROBERTSON.y0, [0, 1e5], { method: 'auto', rtol: 1e-8, atol: 1e-14 }));
    const r = odeint(ROBERTSON.f, ROBERTSON.y0, [0, 1e5], { method: 'rodas5', rtol: 1e-8, atol: 1e-14 });
    expect(a.methodSwitches).toHaveLength(1);
    expect(a.methodSwitches[0]!.t).toBeLessThan(1); // unweighted, the switch came only at t = 12.6, after 60 000 evaluations
    expect(a.stats.nfe).toBeLessThan(1.5 * r.stats.nfe);
  });

  it('carries requested times, dense output and user events across the switch', () => {
    const p = RELAXATION;
    const ts = [0, 1e-7, 1e-3, 0.5, 2, 10];
    const events = [{ g: (t: number) => t - 1e-3, name: 'before' }, { g: (_t: number, y: Float64Array) => y[0]! - 0.5, direction: 'falling' as const, name: 'cos = 0.5' }];
    const a = auto(odeint(p.f, p.y0, ts, { method: 'auto', rtol: 1e-8, atol: 1e-10, dense: true, events }));
    expect(a.methodSwitches).toHaveLength(1);
    const tSwitch = a.methodSwitches[0]!.t;
    expect(tSwitch).toBeGreaterThan(1e-6);
    expect(tSwitch).toBeLessThan(1e-3);
    expect(a.ts).toEqual(ts);
    // Points before the switch come from tsit5, after it from rodas5, all near the exact solution.
    [1e-7, 1e-3, 0.5, 2, 10].forEach((t, i) => expect(Math.abs(a.ys[i + 1]![0]! - relaxationExact(t))).toBeLessThan(1e-6));
    expect(Math.abs(a.evaluate(tSwitch / 2)[0]! - relaxationExact(tSwitch / 2))).toBeLessThan(1e-6);
    expect(Math.abs(a.evaluate(2 * tSwitch)[0]! - relaxationExact(2 * tSwitch))).toBeLessThan(1e-6);
    // The internal switch event is not reported; the user's events are, in time order.
    expect(a.events.map((e) => e.name)).toEqual(['before', 'cos = 0.5', 'cos = 0.5']);
    expect(a.events[0]!.t).toBeCloseTo(1e-3, 12);
    // The exact crossings of y = 0.5 (y ≈ cos t + 10⁻⁶ sin t), by bisection on the exact solution.
    const root = (lo: number, hi: number): number => {
      for (let k = 0; k < 60; k++) {
        const mid = (lo + hi) / 2;
        if (relaxationExact(mid) > 0.5) lo = mid;
        else hi = mid;
      }
      return lo;
    };
    expect(Math.abs(a.events[1]!.t - root(0.9, 1.2))).toBeLessThan(1e-6);
    expect(Math.abs(a.events[2]!.t - root(7.2, 7.5))).toBeLessThan(1e-6);
    expect(a.status).toBe('completed');
  });

  it('running out of steps after the switch reports the whole partial solution, both segments, with the maxSteps given', () => {
    const p = VAN_DER_POL_STIFF;
    let err: unknown;
    try {
      odeint(p.f, p.y0, [0, 0.001, 1000, 3000], { method: 'auto', rtol: 1e-6, atol: 1e-6, maxSteps: 300 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MaxStepsExceededError);
    const e = err as MaxStepsExceededError<AutoSolution<Float64Array>>;
    expect(e.message).toMatch(/odeint: maxSteps = 300 steps were not enough to reach t1 = 3000 \(stopped at t = .*; tsit5 until t = .*, rodas5 after\)/);
    expect(e.partial.methodSwitches).toHaveLength(1);
    expect(e.partial.ts.slice(0, 3)).toEqual([0, 0.001, 1000]); // t = 0 and 0.001 from tsit5, 1000 from rodas5
    expect(e.partial.stats.nSteps).toBe(300);
    expect(e.partial.status).toBe('max_steps');
  });

  it('switches in reverse time too (t1 < t0, a problem stiff in that direction)', () => {
    const lam = 1e4;
    const yp = (t: number): number => (lam * lam * Math.cos(t) - lam * Math.sin(t)) / (lam * lam + 1);
    const a = auto(odeint((t, y) => [lam * (y[0]! - Math.cos(t))], [yp(10) + 1e-3], [10, 5, 0], { method: 'auto', rtol: 1e-7, atol: 1e-9 }));
    expect(a.methodSwitches).toHaveLength(1);
    expect(a.methodSwitches[0]!.t).toBeLessThan(10);
    expect(a.methodSwitches[0]!.t).toBeGreaterThan(9.9);
    expect(Math.abs(a.ys[1]![0]! - yp(5))).toBeLessThan(1e-6);
    expect(Math.abs(a.ys[2]![0]! - yp(0))).toBeLessThan(1e-6);
  });

  it('refuses a fixed step with a typed error (it switches by error estimates)', () => {
    expect(() => odeint(RELAXATION.f, RELAXATION.y0, [0, 1], { method: 'auto', stepSize: 0.1 })).toThrow(/odeint: stepSize cannot be used with method 'auto'/);
  });
});
