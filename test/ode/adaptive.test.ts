import { describe, expect, it } from 'vitest';
import { odeint } from '../../src/index.js';
import { ADAPTIVE_METHODS, CLOSED_FORMS, logSlope, rmsScaledError } from '../helpers.js';

const TOLS = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10];
const [decay, harmonic, logistic, kepler] = CLOSED_FORMS as [typeof CLOSED_FORMS[0], typeof CLOSED_FORMS[0], typeof CLOSED_FORMS[0], typeof CLOSED_FORMS[0]];

describe.each(ADAPTIVE_METHODS)('adaptive %s', (method) => {
  describe.each([decay, harmonic, logistic])('on $name', (p) => {
    it('keeps the final error within 10× the tolerance for rtol = atol = 1e-3 … 1e-10', () => {
      for (const tol of TOLS) {
        const sol = odeint(p.f, p.y0, [0, p.t1], { method, rtol: tol, atol: tol });
        expect(rmsScaledError(sol.ys[1]!, p.exact(p.t1), tol, tol), `rtol ${tol}`).toBeLessThan(10);
      }
    });

    it('keeps interpolated outputs between steps within 10× the tolerance', () => {
      // dopri8's continuous extension is 5th order, so its interpolated outputs lag its steps at
      // the tightest tolerances (see the dense-output order test); check it where it holds.
      const tols = method === 'dopri8' ? TOLS.filter((t) => t >= 1e-7) : TOLS;
      for (const tol of tols) {
        const ts = [0, 0.13, 0.37, 0.61, 0.89].map((x) => x * p.t1);
        const sol = odeint(p.f, p.y0, ts, { method, rtol: tol, atol: tol });
        ts.forEach((t, i) => expect(rmsScaledError(sol.ys[i]!, p.exact(t), tol, tol), `rtol ${tol}, t ${t}`).toBeLessThan(10));
      }
    });
  });

  it('on the Kepler problem (e = 0.5, one orbit) has error proportional to the tolerance', () => {
    // Phase error accumulates over the orbit: the global error is ~100–450× the local
    // tolerance for every method here and for odex alike, so proportionality is what is checked.
    const tols = [1e-6, 1e-7, 1e-8, 1e-9, 1e-10];
    const errs = tols.map((tol) => {
      const sol = odeint(kepler.f, kepler.y0, [0, kepler.t1], { method, rtol: tol, atol: tol });
      return rmsScaledError(sol.ys[1]!, kepler.exact(kepler.t1), tol, tol) * tol;
    });
    const slope = logSlope(tols, errs);
    expect(slope).toBeGreaterThan(0.8);
    expect(slope).toBeLessThan(1.2);
    errs.forEach((e, i) => expect(e / tols[i]!).toBeLessThan(500));
  });

  it('runs backwards in time: y(t1) → y(0) on the harmonic oscillator within 10× tolerance', () => {
    for (const tol of [1e-4, 1e-7, 1e-10]) {
      const back = odeint(harmonic.f, harmonic.exact(harmonic.t1), [harmonic.t1, harmonic.t1 / 2, 0], { method, rtol: tol, atol: tol });
      expect(back.ts).toEqual([harmonic.t1, harmonic.t1 / 2, 0]);
      expect(rmsScaledError(back.ys[2]!, harmonic.y0, tol, tol)).toBeLessThan(10);
      // An interpolated output: dopri8's 5th-order interpolant is checked only where it holds.
      if (method !== 'dopri8' || tol >= 1e-7) {
        expect(rmsScaledError(back.ys[1]!, harmonic.exact(harmonic.t1 / 2), tol, tol)).toBeLessThan(10);
      }
    }
  });

  it('gives the mirror image of a forward solve when time is reversed (t ↦ −t, f ↦ −f)', () => {
    const f = kepler.f;
    const fwd = odeint(f, kepler.y0, [0, 1, 2], { method, rtol: 1e-8, atol: 1e-8 });
    const bwd = odeint((t, y) => Array.from(f(-t, y), (v) => -v), kepler.y0, [0, -1, -2], { method, rtol: 1e-8, atol: 1e-8 });
    expect(bwd.stats).toEqual(fwd.stats);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) expect(bwd.ys[i]![j]).toBeCloseTo(fwd.ys[i]![j]!, 12);
    }
  });
});
