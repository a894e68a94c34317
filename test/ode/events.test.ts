import { describe, expect, it } from 'vitest';
import { odeint, solve, Dopri5, PIDController, SaveAt, InvalidArgumentError } from '../../src/index.js';

const G = 9.81;
const fall = (_t: number, y: Float64Array): number[] => [y[1]!, -G];

describe('events', () => {
  it('locates the impacts of a bouncing ball against the closed form', () => {
    const h0 = 10;
    const e = 0.8;
    let y = Float64Array.of(h0, 0);
    let t = 0;
    const impacts: number[] = [];
    for (let bounce = 0; bounce < 4; bounce++) {
      const sol = solve({
        f: fall, y0: y, t0: t, t1: t + 100, solver: new Dopri5(),
        controller: new PIDController({ rtol: 1e-10, atol: 1e-10 }),
        events: [{ g: (_t, s) => s[0]!, direction: 'falling', terminal: true, name: 'ground' }],
      });
      expect(sol.status).toBe('terminated');
      expect(sol.terminal!.name).toBe('ground');
      expect(sol.terminal!.direction).toBe(-1);
      expect(Math.abs(sol.terminal!.y[0]!)).toBeLessThan(1e-9);
      impacts.push(sol.terminal!.t);
      t = sol.terminal!.t;
      y = Float64Array.of(0, -e * sol.terminal!.y[1]!);
    }
    // t₁ = √(2h₀/g), then each flight lasts 2·eᵏ·v₁/g with v₁ = g·t₁.
    const t1 = Math.sqrt((2 * h0) / G);
    const expected = [t1];
    for (let k = 1; k < 4; k++) expected.push(expected[k - 1]! + (2 * e ** k * G * t1) / G);
    impacts.forEach((ti, i) => expect(ti).toBeCloseTo(expected[i]!, 9));
  });

  it('finds every zero crossing of sin t with its direction, and only the requested ones', () => {
    const f = (_t: number, y: Float64Array): number[] => [y[1]!, -y[0]!];
    const both = odeint(f, Float64Array.of(0, 1), [0, 10], { rtol: 1e-10, atol: 1e-12, events: [{ g: (_t, y) => y[0]! }] });
    expect(both.events.map((ev) => ev.t)).toHaveLength(3);
    both.events.forEach((ev, k) => {
      expect(ev.t).toBeCloseTo((k + 1) * Math.PI, 8);
      expect(ev.direction).toBe(k % 2 === 0 ? -1 : 1);
      expect(ev.terminal).toBe(false);
    });
    expect(both.status).toBe('completed');
    const rising = odeint(f, Float64Array.of(0, 1), [0, 10], { rtol: 1e-10, atol: 1e-12, events: [{ g: (_t, y) => y[0]!, direction: 'rising' }] });
    expect(rising.events.map((ev) => ev.t)).toEqual([expect.closeTo(2 * Math.PI, 8)]);
  });

  it('reports several events in time order and finds them backwards in time', () => {
    const f = (_t: number, y: Float64Array): number[] => [y[1]!, -y[0]!];
    const sol = odeint(f, Float64Array.of(Math.sin(10), Math.cos(10)), [10, 0.5], {
      rtol: 1e-10, atol: 1e-12,
      events: [{ g: (_t, y) => y[0]!, name: 'sin' }, { g: (_t, y) => y[1]!, name: 'cos' }],
    });
    const times = sol.events.map((ev) => ev.t);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const sinZeros = sol.events.filter((ev) => ev.name === 'sin').map((ev) => ev.t);
    const cosZeros = sol.events.filter((ev) => ev.name === 'cos').map((ev) => ev.t);
    expect(sinZeros).toEqual([3, 2, 1].map((k) => expect.closeTo(k * Math.PI, 8)));
    expect(cosZeros).toEqual([2.5, 1.5, 0.5].map((k) => expect.closeTo(k * Math.PI, 8)));
  });

  it('stops at a terminal event: later outputs are absent and dense output ends there', () => {
    const sol = odeint(fall, Float64Array.of(10, 0), [0, 0.5, 1, 2, 3], {
      rtol: 1e-9, atol: 1e-9, dense: true, events: [{ g: (_t, y) => y[0]!, terminal: true }],
    });
    const tHit = Math.sqrt(20 / G);
    expect(sol.t1).toBeCloseTo(tHit, 9);
    expect(sol.ts).toEqual([0, 0.5, 1]);
    expect(sol.evaluate(tHit * 0.9)[0]).toBeCloseTo(10 - 0.5 * G * (tHit * 0.9) ** 2, 9);
    expect(() => sol.evaluate(2)).toThrow(InvalidArgumentError);
  });

  it('does not re-trigger on a zero at the start of the solve', () => {
    const sol = odeint((_t, y) => [y[1]!, -G], Float64Array.of(0, 5), [0, 0.5], { events: [{ g: (_t, y) => y[0]!, terminal: true }] });
    expect(sol.status).toBe('completed');
    expect(sol.events).toHaveLength(0);
  });

  it('saves the event state as the last step with SaveAt.steps()', () => {
    const sol = solve({
      f: fall, y0: Float64Array.of(10, 0), t0: 0, t1: 5, solver: new Dopri5(),
      controller: new PIDController({ rtol: 1e-8, atol: 1e-8 }), saveAt: SaveAt.steps(),
      events: [{ g: (_t, y) => y[0]!, terminal: true }],
    });
    expect(sol.ts[sol.ts.length - 1]).toBe(sol.terminal!.t);
    expect(sol.ys[sol.ys.length - 1]![0]).toBeCloseTo(0, 9);
  });

  it('rejects malformed event specifications', () => {
    const f = (_t: number, y: Float64Array): number[] => [-y[0]!];
    expect(() => odeint(f, [1], [0, 1], { events: [{ g: 3 as never }] })).toThrow(/events\[0\]\.g must be a function/);
    expect(() => odeint(f, [1], [0, 1], { events: [{ g: (_t, y) => y[0]!, direction: 'up' as never }] })).toThrow(/'rising', 'falling' or 'both'/);
  });
});
