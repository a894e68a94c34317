import { describe, expect, it } from 'vitest';
import { BiflowError, ConstantStepSize, DirkTableau, RosenbrockTableau, Kvaerno5, Rodas5, Rodas5P, SaveAt, solve } from '../../src/index.js';
import type { DirkSpec, RosenbrockSpec } from '../../src/index.js';
import { kvaerno5, rodas5, rodas5p } from '../../src/ode/tableaux/index.js';
import { BatchedLU, DenseLU } from '../../src/ode/linalg.js';
import { orderResiduals } from '../../src/ode/trees.js';

const worst = (res: { residual: number }[]): number => Math.max(...res.map((r) => Math.abs(r.residual)));

describe('the RODAS5 tableau', () => {
  const { alpha, Gamma, b, bHat } = rodas5.classical;
  const g = rodas5.gamma;
  const lower = alpha.map((row, i) => row.slice(0, i));
  const beta = alpha.map((row, i) => row.slice(0, i + 1).map((x, j) => x + Gamma[i]![j]!));

  it("meets Hairer–Wanner's Rosenbrock conditions of orders 1–3 written out by hand (Solving ODEs II, Table IV.7.1)", () => {
    const s = b.length;
    const a = (i: number): number => alpha[i]!.reduce((x, y) => x + y, 0);
    const bt = (i: number): number => alpha[i]!.reduce((x, y, j) => x + y + Gamma[i]![j]!, 0) - g; // βᵢ = Σⱼ<ᵢ βᵢⱼ
    let s1 = 0, s2 = 0, s3a = 0, s3b = 0;
    for (let i = 0; i < s; i++) {
      s1 += b[i]!;
      s2 += b[i]! * bt(i);
      s3a += b[i]! * a(i) ** 2;
      for (let k = 0; k < i; k++) s3b += b[i]! * (alpha[i]![k]! + Gamma[i]![k]!) * bt(k);
    }
    expect(s1).toBeCloseTo(1, 12);
    expect(s2).toBeCloseTo(0.5 - g, 12);
    expect(s3a).toBeCloseTo(1 / 3, 12);
    expect(s3b).toBeCloseTo(1 / 6 - g + g * g, 12);
  });

  it('satisfies every order condition to order 5 (b̂ to order 4) and fails at order 6 (b̂ at 5)', () => {
    expect(worst(orderResiduals(lower, b, 5, beta))).toBeLessThan(1e-10);
    expect(worst(orderResiduals(lower, b, 6, beta))).toBeGreaterThan(1e-6);
    expect(worst(orderResiduals(lower, bHat, 4, beta))).toBeLessThan(1e-10);
    expect(worst(orderResiduals(lower, bHat, 5, beta))).toBeGreaterThan(1e-6);
  });

  it('needs the β rule: as a plain Runge–Kutta method (α only) its weights fail order 2', () => {
    expect(worst(orderResiduals(lower, b, 2))).toBeGreaterThan(0.01);
  });

  it('has a dense output that reproduces y₁ at θ = 1 and y₀ at θ = 0', () => {
    const w = new Float64Array(rodas5.stages + 2);
    for (const row of rodas5.interpolant.dense) row.forEach((x, i) => (w[i] += x));
    for (let i = 1; i <= rodas5.stages; i++) expect(w[i]).toBeCloseTo(rodas5.m[i]!, 9);
  });
});

describe('the Kvaerno5 tableau', () => {
  const full = (t: DirkTableau): number[][] => t.a.map((row, i) => [...row, i === 0 ? 0 : t.gamma]);
  const bHat = Array.from(kvaerno5.b, (x, i) => x - kvaerno5.e[i]!);

  it('satisfies the order conditions of the full DIRK matrix to order 5 (b̂ to 4) and fails at 6 (b̂ at 5)', () => {
    expect(worst(orderResiduals(full(kvaerno5), Array.from(kvaerno5.b), 5))).toBeLessThan(1e-10);
    expect(worst(orderResiduals(full(kvaerno5), Array.from(kvaerno5.b), 6))).toBeGreaterThan(1e-6);
    expect(worst(orderResiduals(full(kvaerno5), bHat, 4))).toBeLessThan(1e-10);
    expect(worst(orderResiduals(full(kvaerno5), bHat, 5))).toBeGreaterThan(1e-6);
  });

  it('is stiffly accurate and FSAL: the last row is b, at c = 1', () => {
    expect(kvaerno5.c[kvaerno5.stages - 1]).toBe(1);
    expect(kvaerno5.interpolant.fsal).toBe(true);
  });

  it('has an order-4 dense output: mid-step error of one step falls 2⁵× per halving (the cubic Hermite one fell 2⁴×)', () => {
    expect(kvaerno5.denseOrder).toBe(4);
    // y″ = −y from the exact state; interpolate at θ = 1/2 and at θ = 0.3.
    const midError = (h: number, theta: number): number => {
      const sol = solve({
        f: (_t: number, y: Float64Array) => [y[1]!, -y[0]!], y0: [1, 0], t0: 0, t1: h, solver: new Kvaerno5(),
        controller: new ConstantStepSize({ dt: h }), saveAt: SaveAt.ts([theta * h]),
      });
      return Math.hypot(sol.ys[0]![0]! - Math.cos(theta * h), sol.ys[0]![1]! + Math.sin(theta * h));
    };
    for (const theta of [0.5, 0.3]) {
      const ratio = midError(0.2, theta) / midError(0.1, theta);
      expect(ratio).toBeGreaterThan(26);
      expect(ratio).toBeLessThan(40);
    }
  });
});

describe.each([['rodas5', () => new Rodas5()], ['rodas5p', () => new Rodas5P()], ['kvaerno5', () => new Kvaerno5()]] as const)('%s', (_name, make) => {
  it('is L-stable: one step of y′ = −10⁸y with h = 1 damps y to below 1e-6', () => {
    const sol = solve({ f: (_t: number, y: Float64Array) => [-1e8 * y[0]!], y0: [1], t0: 0, t1: 1, solver: make(), controller: new ConstantStepSize({ dt: 1 }) });
    expect(Math.abs(sol.ys[0]![0]!)).toBeLessThan(1e-6);
  });
});

describe('tableau validation of the stiff methods', () => {
  const spec = (t: RosenbrockTableau): RosenbrockSpec => ({
    name: 'rodas5-typo', order: t.order, embeddedOrder: t.embeddedOrder, denseOrder: t.denseOrder, gamma: t.gamma,
    a: t.a.map((r, i) => Array.from(r).slice(1, i + 1)), C: t.C.map((r, i) => Array.from(r).slice(1, i + 1)),
    c: Array.from(t.c), d: Array.from(t.d), m: Array.from(t.m).slice(1), mHat: Array.from(t.m, (x, i) => x - t.e[i]!).slice(1),
    H: [[...new Array<number>(t.stages).fill(0)]], checkTol: 1e-11, reference: 'test',
  });

  it('accepts the RODAS5 data re-entered as a spec (the check itself passes)', () => {
    expect(() => new RosenbrockTableau(spec(rodas5))).not.toThrow();
  });

  it('rejects a Rosenbrock C coefficient off by 1e-6 (an order condition fails)', () => {
    const bad = spec(rodas5);
    (bad.C as number[][])[4]![2]! += 1e-6;
    expect(() => new RosenbrockTableau(bad)).toThrow(BiflowError);
    expect(() => new RosenbrockTableau(bad)).toThrow(/RosenbrockTableau\(rodas5-typo\): .*(order|sums)/);
  });

  it('accepts the Rodas5P data re-entered as a spec, and rejects it with one a coefficient off by 1e-6', () => {
    expect(() => new RosenbrockTableau(spec(rodas5p))).not.toThrow();
    const bad = spec(rodas5p);
    (bad.a as number[][])[3]![1]! += 1e-6;
    expect(() => new RosenbrockTableau(bad)).toThrow(/RosenbrockTableau\(rodas5-typo\): .*(order|sums)/);
  });

  it('rejects a stage time c that does not match the rows of α', () => {
    const bad = spec(rodas5);
    (bad.c as number[])[2] = 0.39;
    expect(() => new RosenbrockTableau(bad)).toThrow(/row 2 of α = aΓ sums to .* not c = 0.39/);
  });

  const dirk = (): DirkSpec => ({
    name: 'kvaerno5-typo', order: 5, embeddedOrder: 4, gamma: kvaerno5.gamma, c: Array.from(kvaerno5.c),
    a: kvaerno5.a.map((r, i) => [...Array.from(r), i === 0 ? 0 : kvaerno5.gamma]),
    bHat: Array.from(kvaerno5.b, (x, i) => x - kvaerno5.e[i]!), checkTol: 1e-11, reference: 'test',
  });

  it('rejects a DIRK coefficient off by 1e-6, and a diagonal that is not γ', () => {
    const bad = dirk();
    (bad.a as number[][])[3]![1]! += 1e-6;
    expect(() => new DirkTableau(bad)).toThrow(/DirkTableau\(kvaerno5-typo\): row 3 of a sums to/);
    const diag = dirk();
    (diag.a as number[][])[2]![2] = 0.3;
    expect(() => new DirkTableau(diag)).toThrow(/a\[2\]\[2\] = 0.3, expected γ = 0.26/);
    expect(() => new DirkTableau(dirk())).not.toThrow();
  });

  it('rejects a dense-output coefficient off by 1e-6 (a continuous order condition fails), and accepts the Kvaerno5 one re-entered', () => {
    const rows = kvaerno5.interpolant.dense.map((r) => Array.from(r).slice(0, kvaerno5.stages));
    expect(() => new DirkTableau({ ...dirk(), dense: rows, denseOrder: 4 })).not.toThrow();
    const bad = rows.map((r) => [...r]);
    bad[2]![3]! += 1e-6;
    expect(() => new DirkTableau({ ...dirk(), dense: bad, denseOrder: 4 })).toThrow(/DirkTableau\(kvaerno5-typo\): dense output violates the order-\d condition for tree .* in its θ\^3 term/);
    expect(() => new DirkTableau({ ...dirk(), dense: rows, denseOrder: 5 })).toThrow(/dense output violates the order-5 condition/);
  });
});

describe('DenseLU', () => {
  it('solves a system whose first pivot is zero (row exchange needed) to round-off', () => {
    const A = [[0, 2, 1], [1, 1, 1], [4, -1, 3]];
    const x = Float64Array.of(1, -2, 3);
    const b = Float64Array.from(A, (row) => row.reduce((s, v, j) => s + v * x[j]!, 0));
    const lu = new DenseLU(3);
    lu.lu.set(A.flat());
    expect(lu.factor()).toBe(true);
    const out = lu.solve(b, new Float64Array(3), new Float64Array(3));
    for (let i = 0; i < 3; i++) expect(out[i]).toBeCloseTo(x[i]!, 13);
  });

  it('reports a singular or NaN matrix instead of dividing by zero', () => {
    const lu = new DenseLU(2);
    lu.lu.set([1, 2, 2, 4]);
    expect(lu.factor()).toBe(false);
    lu.lu.set([1, NaN, 0, 1]);
    expect(lu.factor()).toBe(false);
  });

  it('solves the transposed system Mᵀx = b with the same factorisation, pivoting included', () => {
    const A = [[0, 2, 1], [1, 1, 1], [4, -1, 3]];
    const x = Float64Array.of(1, -2, 3);
    const b = Float64Array.from([0, 1, 2], (i) => A.reduce((s, row, j) => s + row[i]! * x[j]!, 0)); // Aᵀx
    const lu = new DenseLU(3);
    lu.lu.set(A.flat());
    expect(lu.factor()).toBe(true);
    const out = lu.solveTransposed(b, new Float64Array(3), new Float64Array(3));
    for (let i = 0; i < 3; i++) expect(out[i]).toBeCloseTo(x[i]!, 13);
  });
});

describe('BatchedLU', () => {
  it('factorises I − hg·J_b per row and solves each row (and its transpose) independently', () => {
    const n = 3;
    const Js = [[[-50, 1, 0], [2, -3, 1], [0, 4, -1000]], [[0.5, 0, 2], [-1, 0, 0], [3, 1, -2]]];
    const hg = 0.1;
    const lu = new BatchedLU(2, n);
    expect(lu.factor(Js.flat(2), hg)).toBe(true);
    const xs = [[1, -2, 3], [0.5, 4, -1]];
    const M = (J: number[][]): number[][] => J.map((row, i) => row.map((v, j) => (i === j ? 1 : 0) - hg * v));
    // A·v, or Aᵀ·v when `t`.
    const apply = (A: number[][], v: number[], t: boolean): number[] => A.map((_, i) => v.reduce((s, vj, j) => s + (t ? A[j]![i]! : A[i]![j]!) * vj, 0));
    for (const transposed of [false, true]) {
      const b = Js.flatMap((J, r) => apply(M(J), xs[r]!, transposed));
      const out = lu.solve(b, new Float64Array(2 * n), transposed);
      xs.flat().forEach((v, i) => expect(out[i]).toBeCloseTo(v, 12));
    }
    expect(new BatchedLU(1, 2).factor([10, 0, 0, 1], 0.1)).toBe(false); // 1 − 0.1·10 = 0
  });
});
