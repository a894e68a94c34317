import { describe, expect, it } from 'vitest';
import {
  odeint, solve, ConstantStepSize, Dopri5, PIDController, RK4, SaveAt,
  BiflowError, InvalidArgumentError, MaxStepsExceededError, NonFiniteError, StepSizeUnderflowError,
} from '../../src/index.js';
import type { Solution } from '../../src/index.js';

const decay = (_t: number, y: Float64Array): number[] => [-y[0]!, -2 * y[1]!];
const y0 = Float64Array.of(1, 1);

/** Runs fn, expects it to throw an error of `type`, and returns the error. */
function caught<E extends Error>(fn: () => unknown, type: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    expect(e).toBeInstanceOf(BiflowError);
    return e as E;
  }
  throw new Error('expected an error');
}

describe('typed errors name the function, the argument, the value and a fix', () => {
  it('negative rtol', () => {
    const e = caught(() => odeint(decay, y0, [0, 1], { rtol: -1 }), InvalidArgumentError);
    expect(e.message).toMatch(/^odeint: rtol must be a non-negative finite number, got -1\. Pass e\.g\. \{ rtol: 1e-6, atol: 1e-9 \}/);
    expect(e.fn).toBe('odeint');
    expect(e.arg).toBe('rtol');
    expect(e.value).toBe(-1);
  });

  it('non-finite atol', () => {
    const e = caught(() => odeint(decay, y0, [0, 1], { atol: NaN }), InvalidArgumentError);
    expect(e.message).toMatch(/odeint: atol must be .* got NaN/);
  });

  it('per-component tolerances of the wrong length', () => {
    const e = caught(() => odeint(decay, y0, [0, 1], { atol: [1e-9, 1e-9, 1e-9] }), InvalidArgumentError);
    expect(e.message).toMatch(/atol has 3 entries but the state has 2/);
  });

  it('rtol = atol = 0', () => {
    expect(caught(() => odeint(decay, y0, [0, 1], { rtol: 0, atol: 0 }), InvalidArgumentError).message).toMatch(/both 0/);
  });

  it('non-monotonic ts', () => {
    const e = caught(() => odeint(decay, y0, [0, 1, 0.5, 2]), InvalidArgumentError);
    expect(e.message).toMatch(/odeint: ts must be strictly increasing .* ts\[1\] = 1 and ts\[2\] = 0\.5\. Sort the times/);
  });

  it('repeated times and non-finite times', () => {
    expect(caught(() => odeint(decay, y0, [0, 1, 1]), InvalidArgumentError).message).toMatch(/strictly increasing/);
    expect(caught(() => odeint(decay, y0, [0, Infinity]), InvalidArgumentError).message).toMatch(/t1 must be a finite number, got Infinity/);
    expect(caught(() => odeint(decay, y0, []), InvalidArgumentError).message).toMatch(/ts must be an array of at least one time/);
  });

  it('y0 whose length differs from f’s output', () => {
    const e = caught(() => odeint((_t, y) => [y[0]!, y[1]!, 0], y0, [0, 1]), InvalidArgumentError);
    expect(e.message).toMatch(/odeint: f returned 3 values at t = 0 for a state of length 2: \[.*\]\. Make f return one derivative per component of y0/);
  });

  it('non-finite y0', () => {
    expect(caught(() => odeint(decay, [1, NaN], [0, 1]), InvalidArgumentError).message).toMatch(/y0\[1\] must be finite, got NaN/);
  });

  it('unknown method names list the valid ones', () => {
    const e = caught(() => odeint(decay, y0, [0, 1], { method: 'rk45' as never }), InvalidArgumentError);
    expect(e.message).toBe('odeint: method is not a known method, got "rk45". Use one of: euler, midpoint, heun, rk4, bosh3, dopri5, tsit5, dopri8, rodas5, rodas5p, kvaerno5, auto.');
  });

  it('maxSteps exceeded carries the partial solution', () => {
    const e = caught(() => odeint(decay, y0, [0, 0.01, 10], { maxSteps: 5, rtol: 1e-10, atol: 1e-12 }), MaxStepsExceededError<Solution<Float64Array>>);
    expect(e.message).toMatch(/odeint: maxSteps = 5 steps were not enough to reach t1 = 10 \(stopped at t = .*\)\. Raise maxSteps/);
    const partial = e.partial;
    expect(partial.status).toBe('max_steps');
    expect(partial.t1).toBe(e.t);
    expect(partial.stats.nSteps).toBe(5);
    expect(partial.ts[0]).toBe(0);
    expect(partial.ts[partial.ts.length - 1]).toBe(e.t);
    expect(partial.ys[partial.ys.length - 1]![0]).toBeCloseTo(Math.exp(-e.t), 9);
  });

  it('step size underflow at a finite-time blow-up', () => {
    const e = caught(() => odeint((_t, y) => [y[0]! * y[0]!], [1], [0, 2]), StepSizeUnderflowError);
    expect(e.t).toBeGreaterThan(0.999);
    expect(e.t).toBeLessThan(1.001);
    expect(e.message).toMatch(/odeint: the step size underflowed .* at t = 1\.0.*loosen atol\/rtol or check f/);
  });

  it('a rejected step at minStep is an underflow', () => {
    const e = caught(() => solve({
      f: decay, y0, t0: 0, t1: 1, solver: new Dopri5(),
      controller: new PIDController({ rtol: 1e-12, atol: 1e-14, minStep: 0.5 }),
    }), StepSizeUnderflowError);
    expect(e.message).toMatch(/minimum size 0\.5 failed the error test/);
  });

  it('a NaN derivative that persists after rejections raises NonFiniteError with the time', () => {
    // dy/dt = 1 until y reaches 1, then √(1 − y) is NaN: no step can cross y = 1.
    const e = caught(() => odeint((_t, y) => [y[0]! < 1 ? 1 : Math.sqrt(1 - y[0]! - 1e-300)], [0], [0, 2]), NonFiniteError);
    expect(e.t).toBeGreaterThan(0.99);
    expect(e.t).toBeLessThanOrEqual(1);
    expect(e.message).toMatch(/non-finite near t = /);
  });

  it('a transient NaN is survived by rejecting and shrinking the step', () => {
    // f is NaN only far from the solution: a too-long first trial step lands there and is rejected.
    const f = (_t: number, y: Float64Array): number[] => [y[0]! < -5 ? NaN : -y[0]!];
    const sol = solve({
      f, y0: [1], t0: 0, t1: 3, solver: new Dopri5(), controller: new PIDController({ rtol: 1e-6, atol: 1e-9, firstStep: 20 }),
    });
    expect(sol.stats.nRejected).toBeGreaterThan(0);
    expect(sol.ys[0]![0]).toBeCloseTo(Math.exp(-3), 6);
  });

  it('a NaN from a fixed-step method cannot be retried and raises at once', () => {
    const e = caught(() => solve({
      f: (t) => [t > 0.35 ? NaN : 1], y0: [0], t0: 0, t1: 1, solver: new RK4(), controller: new ConstantStepSize({ dt: 0.1 }),
    }), NonFiniteError);
    expect(e.t).toBeCloseTo(0.3, 12);
  });

  it('f(t0, y0) non-finite', () => {
    expect(caught(() => odeint(() => [Infinity], [0], [0, 1]), NonFiniteError).message).toMatch(/f\(t0, y0\) is not finite at t = 0/);
  });

  it('solve without a controller, or a PIDController on a fixed-step method', () => {
    expect(caught(() => solve({ f: decay, y0, t0: 0, t1: 1, controller: undefined as never }), InvalidArgumentError).message)
      .toMatch(/solve: controller is required, got undefined\. Pass e\.g\. new PIDController/);
    expect(caught(() => solve({ f: decay, y0, t0: 0, t1: 1, solver: new RK4(), controller: new PIDController({ rtol: 1e-6, atol: 1e-9 }) }), InvalidArgumentError).message)
      .toMatch(/needs an error estimate, which rk4 does not have/);
    expect(caught(() => new PIDController({} as never), InvalidArgumentError).message).toMatch(/no default tolerances/);
    expect(caught(() => new ConstantStepSize({ dt: 0 }), InvalidArgumentError).message).toMatch(/ConstantStepSize: dt must be a positive finite number, got 0/);
  });

  it('requested times outside [t0, t1]', () => {
    expect(caught(() => solve({ f: decay, y0, t0: 0, t1: 1, controller: new PIDController({ rtol: 1e-6, atol: 1e-9 }), saveAt: SaveAt.ts([0.5, 2]) }), InvalidArgumentError).message)
      .toMatch(/ts\[1\] must lie between t0 = 0 and t1 = 1, got 2/);
  });

  it('evaluate without dense output', () => {
    expect(caught(() => odeint(decay, y0, [0, 1]).evaluate(0.5), InvalidArgumentError).message).toMatch(/SaveAt\.dense\(\)/);
  });

  it('ConstantStepSize grids are checked: length, finiteness, monotonicity, ends, and not with dt', () => {
    expect(caught(() => new ConstantStepSize({ grid: [] }), InvalidArgumentError).message).toMatch(/grid must hold at least two finite times/);
    expect(caught(() => new ConstantStepSize({ grid: [0, NaN, 1] }), InvalidArgumentError).message).toMatch(/got \[0, NaN, 1\]/);
    expect(caught(() => new ConstantStepSize({ grid: [0, 0.6, 0.5, 1] }), InvalidArgumentError).message).toMatch(/strictly monotone/);
    expect(caught(() => new ConstantStepSize({ dt: 0.1, grid: [0, 1] }), InvalidArgumentError).message).toMatch(/dt cannot be combined with grid/);
    expect(caught(() => solve({ f: decay, y0, t0: 0, t1: 1, solver: new RK4(), controller: new ConstantStepSize({ grid: [0, 0.5] }) }), InvalidArgumentError).message)
      .toMatch(/grid must start at t0 = 0 and end at t1 = 1/);
  });

  it('the partial solution of SaveAt.steps() does not repeat its last state', () => {
    const e = caught(() => solve({
      f: decay, y0, t0: 0, t1: 10, solver: new Dopri5(), controller: new PIDController({ rtol: 1e-10, atol: 1e-12 }),
      saveAt: SaveAt.steps(), maxSteps: 5,
    }), MaxStepsExceededError<Solution<Float64Array>>);
    const ts = e.partial.ts;
    expect(new Set(ts).size).toBe(ts.length);
    expect(e.partial.status).toBe('max_steps');
  });
});

