import { describe, expect, it } from 'vitest';
import { ButcherTableau, TABLEAUX, RK_METHOD_NAMES } from '../../src/index.js';
import { orderResiduals, treesOfOrder } from '../../src/ode/trees.js';

const rows = (t: ButcherTableau): number[][] => t.a.map((r) => Array.from(r));
const worst = (t: ButcherTableau, w: ArrayLike<number>, p: number): number =>
  Math.max(...orderResiduals(rows(t), Array.from(w), p).map((r) => Math.abs(r.residual)));

describe('rooted trees', () => {
  it('counts 1, 1, 2, 4, 9, 20, 48, 115 trees of orders 1 to 8 (OEIS A000081)', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => treesOfOrder(n).length)).toEqual([1, 1, 2, 4, 9, 20, 48, 115]);
  });

  it('computes γ as the tree factorial (γ of the tall tree of order n is n!)', () => {
    const tall = treesOfOrder(5).find((t) => t.key === '[[[[[]]]]]')!;
    expect(tall.gamma).toBe(120);
    const bushy = treesOfOrder(5).find((t) => t.key === '[[][][][]]')!;
    expect(bushy.gamma).toBe(5);
  });
});

describe.each(RK_METHOD_NAMES)('tableau %s', (name) => {
  const t = TABLEAUX[name];

  it('is consistent: rows of A sum to c, Σb = 1, Σ(b − b̂) = 0', () => {
    t.a.forEach((row, i) => expect(row.reduce((s, x) => s + x, 0)).toBeCloseTo(t.c[i]!, 9));
    expect(t.b.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    if (t.e) expect(t.e.reduce((s, x) => s + x, 0)).toBeCloseTo(0, 12);
  });

  it('satisfies every order condition up to its order and fails one at order + 1', () => {
    expect(worst(t, t.b, t.order)).toBeLessThan(1e-10);
    expect(worst(t, t.b, t.order + 1)).toBeGreaterThan(1e-8);
  });

  it(`${t.e ? 'has an embedded method of exactly its stated order' : 'is fixed-step: no embedded weights'}`, () => {
    expect(t.adaptive).toBe(['bosh3', 'dopri5', 'tsit5', 'dopri8'].includes(name));
    if (!t.e) return;
    const bHat = Array.from(t.b, (b, i) => b - t.e![i]!);
    expect(worst(t, bHat, t.embeddedOrder!)).toBeLessThan(1e-10);
    expect(worst(t, bHat, t.embeddedOrder! + 1)).toBeGreaterThan(1e-8);
  });

  it('has a dense interpolant that reproduces y₁ at θ = 1', () => {
    const s = t.stages;
    const w = new Float64Array(s + 1);
    for (const row of t.dense) row.forEach((x, i) => (w[i] += x));
    if (t.fsal) w[s - 1] += w[s]!;
    for (let i = 0; i < s; i++) expect(w[i]).toBeCloseTo(t.b[i]!, 9);
  });
});

describe('ButcherTableau validation', () => {
  const good = { name: 'rk4-typo', order: 4, c: [0, 0.5, 0.5, 1], a: [[], [0.5], [0, 0.5], [0, 0, 1]], reference: 'test' };

  it('rejects weights that do not sum to one', () => {
    expect(() => new ButcherTableau({ ...good, b: [1 / 6, 1 / 3, 1 / 3, 1 / 5] })).toThrow(/Σb/);
  });

  it('rejects a row of A that does not sum to c', () => {
    expect(() => new ButcherTableau({ ...good, a: [[], [0.5], [0, 0.4], [0, 0, 1]], b: [1 / 6, 1 / 3, 1 / 3, 1 / 6] })).toThrow(/row 2/);
  });

  it('rejects a method that claims a higher order than it has', () => {
    expect(() => new ButcherTableau({ ...good, order: 5, b: [1 / 6, 1 / 3, 1 / 3, 1 / 6] })).toThrow(/order-5 condition/);
  });

  it('rejects an embedded pair whose weights do not share the same sum', () => {
    expect(() => new ButcherTableau({ ...good, b: [1 / 6, 1 / 3, 1 / 3, 1 / 6], bHat: [0.2, 0.3, 0.3, 0.1] })).toThrow(/b − b̂/);
  });
});
