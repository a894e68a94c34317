import { describe, expect, it } from 'vitest';
import { ConstantStepSize, SaveAt, TABLEAUX, RK_METHOD_NAMES, RungeKutta, solve } from '../../src/index.js';
import type { RKMethodName } from '../../src/index.js';
import { LINEAR_Y0, keplerE, linearExact, linearField, logSlope, maxAbsDiff } from '../helpers.js';

// Step counts per method chosen so the errors stay well above float64 round-off.
const LINEAR_STEPS: Record<RKMethodName, number[]> = {
  euler: [64, 128, 256, 512],
  midpoint: [32, 64, 128, 256],
  heun: [32, 64, 128, 256],
  rk4: [16, 32, 64, 128],
  bosh3: [16, 32, 64, 128],
  dopri5: [8, 16, 32, 64],
  tsit5: [8, 16, 32, 64],
  dopri8: [4, 6, 8, 12],
};
const T = 2;

function linearSlope(name: RKMethodName): number {
  const exact = linearExact(T);
  const steps = LINEAR_STEPS[name];
  const errs = steps.map((n) => {
    const sol = solve({
      f: linearField, y0: LINEAR_Y0, t0: 0, t1: T, solver: new RungeKutta(TABLEAUX[name]),
      controller: new ConstantStepSize({ dt: T / n }),
    });
    return maxAbsDiff(sol.ys[0]!, exact);
  });
  expect(errs.every((e) => e > 1e-14)).toBe(true);
  return logSlope(steps.map((n) => T / n), errs);
}

// Kepler problem, e = 0.2, three orbits: a nonlinear system with every elementary differential
// present. The error is the largest over all step ends (the final error alone oscillates).
const ECC = 0.2;
const kepler = (_t: number, y: Float64Array): number[] => {
  const r3 = Math.hypot(y[0]!, y[1]!) ** 3;
  return [y[2]!, y[3]!, -y[0]! / r3, -y[1]! / r3];
};
const keplerExact = (t: number): Float64Array => {
  const E = keplerE(t, ECC);
  const d = 1 - ECC * Math.cos(E);
  const s = Math.sqrt(1 - ECC * ECC);
  return Float64Array.of(Math.cos(E) - ECC, s * Math.sin(E), -Math.sin(E) / d, (s * Math.cos(E)) / d);
};
const KEPLER_STEPS: Partial<Record<RKMethodName, number[]>> = {
  bosh3: [400, 800, 1600, 3200],
  dopri5: [200, 400, 800, 1600],
  tsit5: [200, 400, 800, 1600],
  dopri8: [40, 60, 80, 120],
};

describe.each(RK_METHOD_NAMES)('%s with constant steps', (name) => {
  const tableau = TABLEAUX[name];
  const p = tableau.order;

  if (!tableau.adaptive) {
    it(`converges with order ${p} on y′ = Ay (slope of log error against log h within ±0.3)`, () => {
      expect(Math.abs(linearSlope(name) - p)).toBeLessThan(0.3);
    });
  } else {
    // Linear problems only test the "tall tree" conditions; tsit5 and dopri8 have nearly zero
    // error constants there, so their slope exceeds p. The nonlinear test below pins the order.
    it(`converges with at least order ${p} on y′ = Ay`, () => {
      const slope = linearSlope(name);
      expect(slope).toBeGreaterThan(p - 0.3);
      expect(slope).toBeLessThan(p + 1.5);
    });

    it(`converges with order ${p} on the Kepler problem (slope in [p − 0.3, p + 1.5])`, () => {
      const T1 = 20;
      const steps = KEPLER_STEPS[name]!;
      const errs = steps.map((n) => {
        const sol = solve({
          f: kepler, y0: keplerExact(0), t0: 0, t1: T1, solver: new RungeKutta(tableau),
          controller: new ConstantStepSize({ dt: T1 / n }), saveAt: SaveAt.steps(),
        });
        return Math.max(...sol.ts.map((t, i) => maxAbsDiff(sol.ys[i]!, keplerExact(t))));
      });
      const slope = logSlope(steps.map((n) => T1 / n), errs);
      expect(slope).toBeGreaterThan(p - 0.3);
      expect(slope).toBeLessThan(p + 1.5);
    });
  }

  it(`has dense output of local order ${Math.min(tableau.denseOrder, p) + 1}`, () => {
    // One step from the exact state; the interpolant's error at θ = 0.37 is O(h^{q+1}).
    const theta = 0.37;
    const hs = [0.4, 0.2, 0.1, 0.05];
    const errs = hs.map((h) => {
      const sol = solve({
        f: linearField, y0: LINEAR_Y0, t0: 0, t1: h, solver: new RungeKutta(tableau),
        controller: new ConstantStepSize({ dt: h }), saveAt: SaveAt.dense(),
      });
      return maxAbsDiff(sol.evaluate(theta * h), linearExact(theta * h));
    });
    const q = Math.min(tableau.denseOrder, p);
    expect(logSlope(hs, errs)).toBeGreaterThan(q + 1 - 0.3);
  });
});
