/**
 * Rosenbrock tableaux as validated data, in Hairer and Wanner's transformed variables Uᵢ:
 *
 *   (I/(hγ) − J) Uᵢ = f(t + cᵢh, y + Σⱼ<ᵢ aᵢⱼUⱼ) + dᵢ h ∂f/∂t + Σⱼ<ᵢ (Cᵢⱼ/h) Uⱼ,
 *   y₁ = y + Σ mᵢUᵢ,   ŷ₁ = y + Σ m̂ᵢUᵢ,
 *
 * with dense output y(θ) = (1−θ)y + θ(y₁ + (1−θ)(D₁ + θ(D₂ + θD₃))), Dₖ = Σ Hₖᵢ Uᵢ.
 * Construction recovers the classical coefficients Γ = (I/γ − C)⁻¹, α = aΓ, b = Γᵀm and checks
 * cᵢ = Σⱼαᵢⱼ, dᵢ = Σⱼγᵢⱼ and every order condition of b (and of b̂) up to the stated order.
 *
 * References: Hairer, Wanner, Solving ODEs II, §IV.7 (order conditions, the transformation).
 */
import { BiflowError } from '../errors.js';
import type { StepInterpolant } from './dense.js';
import { orderResiduals } from './trees.js';

/** The coefficients of a Rosenbrock method in transformed form (see the module comment). */
export interface RosenbrockSpec {
  readonly name: string;
  readonly order: number;
  readonly embeddedOrder: number;
  readonly denseOrder: number;
  readonly gamma: number;
  /** Strictly lower rows: `a[i]` has `i` entries. */
  readonly a: readonly (readonly number[])[];
  readonly C: readonly (readonly number[])[];
  readonly c: readonly number[];
  readonly d: readonly number[];
  readonly m: readonly number[];
  readonly mHat: readonly number[];
  /** Dense rows H₁…H_P over the stages. */
  readonly H: readonly (readonly number[])[];
  readonly checkTol?: number;
  readonly reference: string;
}

const lowerInverse = (L: number[][]): number[][] => {
  const s = L.length;
  const X = L.map(() => new Array<number>(s).fill(0));
  for (let j = 0; j < s; j++) {
    for (let i = j; i < s; i++) {
      let acc = i === j ? 1 : 0;
      for (let k = j; k < i; k++) acc -= L[i]![k]! * X[k]![j]!;
      X[i]![j] = acc / L[i]![i]!;
    }
  }
  return X;
};

/** A validated Rosenbrock method; stage vectors are stored as Kᵢ = Uᵢ/h after k₀ = f(t, y). */
export class RosenbrockTableau {
  readonly name: string;
  readonly order: number;
  readonly embeddedOrder: number;
  readonly denseOrder: number;
  readonly stages: number;
  readonly gamma: number;
  /** Rows over [k₀, K₁…K_s] (column 0 is zero), so one lincomb forms each stage argument. */
  readonly a: readonly Float64Array[];
  readonly C: readonly Float64Array[];
  readonly c: Float64Array;
  readonly d: Float64Array;
  readonly m: Float64Array;
  /** Error weights m − m̂ over the same columns. */
  readonly e: Float64Array;
  /** The classical coefficients recovered at construction: α, Γ (diagonal γ), b and b̂. */
  readonly classical: { readonly alpha: readonly (readonly number[])[]; readonly Gamma: readonly (readonly number[])[]; readonly b: readonly number[]; readonly bHat: readonly number[] };
  /** Layout and dense weights for the solve loop: columns [k₀, K₁…K_s, f₁]. */
  readonly interpolant: StepInterpolant;
  readonly reference: string;

  constructor(spec: RosenbrockSpec) {
    const { name, gamma, a, C, c, d, m, mHat, H } = spec;
    const s = m.length;
    const tol = spec.checkTol ?? 1e-12;
    const fail = (what: string): never => {
      throw new BiflowError(`RosenbrockTableau(${name}): ${what}. The coefficients are mistyped.`);
    };
    for (const [label, v] of [['a', a], ['C', C]] as const) {
      if (v.length !== s || v.some((row, i) => row.length !== i)) fail(`${label} must have ${s} strictly lower rows (row i with i entries)`);
    }
    if (c.length !== s || d.length !== s || mHat.length !== s || H.some((row) => row.length !== s)) fail(`c, d, m̂ and the dense rows need ${s} entries`);
    // Γ⁻¹ = I/γ − C, then the classical α = aΓ and b = Γᵀm.
    const G = lowerInverse(Array.from({ length: s }, (_, i) => Array.from({ length: s }, (_, j) => (i === j ? 1 / gamma : j < i ? -C[i]![j]! : 0))));
    const alpha = G.map((_, i) => Array.from({ length: s }, (_, j) => a[i]!.reduce((acc, x, k) => acc + x * G[k]![j]!, 0)));
    const classical = (w: readonly number[]): number[] => Array.from({ length: s }, (_, j) => w.reduce((acc, x, i) => acc + x * G[i]![j]!, 0));
    const near = (x: number, y: number): boolean => Math.abs(x - y) <= tol * Math.max(1, Math.abs(y));
    alpha.forEach((row, i) => {
      const sum = row.reduce((x, y) => x + y, 0);
      if (!near(sum, c[i]!)) fail(`row ${i} of α = aΓ sums to ${sum}, not c = ${c[i]}`);
    });
    G.forEach((row, i) => {
      const sum = row.reduce((x, y) => x + y, 0);
      if (!near(sum, d[i]!)) fail(`row ${i} of Γ sums to ${sum}, not d = ${d[i]}`);
    });
    // β = α + Γ carries the edges of single-child vertices (see orderResiduals).
    const alphaRows = alpha.map((row, i) => row.slice(0, i));
    const beta = alpha.map((row, i) => row.slice(0, i + 1).map((x, j) => x + G[i]![j]!));
    const check = (w: readonly number[], p: number, label: string): void => {
      for (const { tree, residual } of orderResiduals(alphaRows, classical(w), p, beta)) {
        if (Math.abs(residual) > tol * 10) fail(`${label} violates the order-${tree.order} condition for tree ${tree.key} by ${residual}`);
      }
    };
    check(m, spec.order, 'm');
    check(mHat, spec.embeddedOrder, 'm̂');
    // y(θ) − y = θΔ + (θ − θ²)D₁ + (θ² − θ³)D₂ + …, Δ = Σ mᵢUᵢ: powers of θ over the columns.
    const P = H.length;
    const dense = Array.from({ length: P + 1 }, (_, p) => {
      const row = new Float64Array(s + 2);
      for (let i = 0; i < s; i++) row[i + 1] = (p === 0 ? m[i]! : 0) + (p < P ? H[p]![i]! : 0) - (p > 0 ? H[p - 1]![i]! : 0);
      return row;
    });
    const pad = (v: readonly number[]): Float64Array => Float64Array.from([0, ...v]);
    this.name = name;
    this.order = spec.order;
    this.embeddedOrder = spec.embeddedOrder;
    this.denseOrder = spec.denseOrder;
    this.stages = s;
    this.gamma = gamma;
    this.a = a.map(pad);
    this.C = C.map(pad);
    this.c = Float64Array.from(c);
    this.d = Float64Array.from(d);
    this.m = pad(m);
    this.e = pad(m.map((x, i) => x - mHat[i]!));
    this.classical = { alpha, Gamma: G, b: classical(m), bHat: classical(mHat) };
    this.interpolant = Object.freeze({ stages: s + 1, fsal: false, dense });
    this.reference = spec.reference;
    Object.freeze(this);
  }
}
