/**
 * Butcher tableaux as frozen, self-checking data.
 *
 *     c₀ |
 *     c₁ | a₁₀
 *     c₂ | a₂₀ a₂₁
 *     …  | …
 *     ───┼──────────────
 *        | b₀  b₁  …          (solution, order p)
 *        | b̂₀  b̂₁  …          (embedded, order p̂, optional)
 *
 * Dense output is a polynomial in θ = (t − t₀)/h with vector coefficients:
 *   y(t₀ + θh) = y₀ + h Σₚ θᵖ Σᵢ Wₚᵢ Kᵢ,   K = [k₀, …, k_{s−1}, f(t₁, y₁)]
 * so one generic routine evaluates every method's interpolant.
 */
import { BiflowError } from '../errors.js';
import { orderResiduals } from './trees.js';

export interface TableauSpec {
  /** Method name, e.g. `dopri5`. */
  readonly name: string;
  /** Order p of the solution weights `b`. */
  readonly order: number;
  readonly c: readonly number[];
  /** Strictly lower-triangular rows: `a[i]` has `i` entries (row 0 is empty). */
  readonly a: readonly (readonly number[])[];
  readonly b: readonly number[];
  /** Embedded weights for the error estimate, if the method is adaptive. */
  readonly bHat?: readonly number[];
  /** Order of the embedded weights (default `order − 1`). */
  readonly embeddedOrder?: number;
  /**
   * Dense output weights Wₚᵢ for p = 1…P (row p−1), columns over `[k₀…k_{s−1}, f₁]`.
   * Omitted: cubic Hermite built from `b`, `k₀` and `f₁`.
   */
  readonly dense?: readonly (readonly number[])[];
  /** Order of accuracy of the dense output (local error O(h^{denseOrder+1})). */
  readonly denseOrder?: number;
  /** Tolerance for the self-checks (default 1e-12; rational approximations may need more). */
  readonly checkTol?: number;
  /** Where the coefficients come from. */
  readonly reference: string;
}

/**
 * The checks every Runge–Kutta tableau shares, explicit or diagonally implicit (rows of `a` may
 * include the diagonal): each row of `a` sums to its c, Σb = 1, Σ(b − b̂) = 0, and b and b̂ meet
 * every order condition up to their orders (residuals within 10·tol). `fail` throws, naming the tableau.
 */
export function checkRungeKutta(
  fail: (what: string) => never,
  { a, b, bHat, c, order, embeddedOrder, tol }: { a: readonly (readonly number[])[]; b: readonly number[]; bHat?: readonly number[]; c: readonly number[]; order: number; embeddedOrder?: number; tol: number },
): void {
  a.forEach((row, i) => {
    const sum = row.reduce((x, y) => x + y, 0);
    if (Math.abs(sum - c[i]!) > tol * Math.max(1, Math.abs(c[i]!))) fail(`row ${i} of a sums to ${sum}, not c = ${c[i]}`);
  });
  const sumB = b.reduce((x, y) => x + y, 0);
  if (Math.abs(sumB - 1) > tol) fail(`Σb = ${sumB}, not 1`);
  if (bHat) {
    const sumE = b.reduce((x, bi, i) => x + bi - bHat[i]!, 0);
    if (Math.abs(sumE) > tol) fail(`Σ(b − b̂) = ${sumE}, not 0`);
  }
  const check = (weights: readonly number[], p: number, label: string): void => {
    for (const { tree, residual } of orderResiduals(a, weights, p)) {
      if (Math.abs(residual) > tol * 10) fail(`${label} violates the order-${tree.order} condition for tree ${tree.key} by ${residual}`);
    }
  };
  check(b, order, 'b');
  if (bHat) check(bHat, embeddedOrder!, 'bHat');
}

/** A validated tableau. Construction throws if any consistency or order condition fails. */
export class ButcherTableau {
  readonly name: string;
  readonly order: number;
  readonly embeddedOrder: number | undefined;
  readonly stages: number;
  readonly c: Float64Array;
  readonly a: readonly Float64Array[];
  readonly b: Float64Array;
  /** Error weights `b − b̂` (undefined for fixed-step methods). */
  readonly e: Float64Array | undefined;
  /** First same as last: the last stage is f(t₁, y₁), reused as the next step's k₀. */
  readonly fsal: boolean;
  /** Dense weights, `P` rows of `stages + 1` columns (last column: f₁). */
  readonly dense: readonly Float64Array[];
  readonly denseOrder: number;
  readonly reference: string;

  constructor(spec: TableauSpec) {
    const { name, order, c, a, b, bHat } = spec;
    const s = b.length;
    const tol = spec.checkTol ?? 1e-12;
    const fail = (what: string): never => {
      throw new BiflowError(`ButcherTableau(${name}): ${what}. The coefficients are mistyped.`);
    };
    if (c.length !== s || a.length !== s) fail(`expected ${s} stages in c and a, got ${c.length} and ${a.length}`);
    if (bHat && bHat.length !== s) fail(`bHat has ${bHat.length} entries, expected ${s}`);
    a.forEach((row, i) => {
      if (row.length !== i) fail(`row ${i} of a has ${row.length} entries, expected ${i}`);
    });
    const embeddedOrder = bHat ? (spec.embeddedOrder ?? order - 1) : undefined;
    checkRungeKutta(fail, { a, b, bHat, c, order, embeddedOrder, tol });

    this.name = name;
    this.order = order;
    this.embeddedOrder = embeddedOrder;
    this.stages = s;
    this.c = Float64Array.from(c);
    this.a = a.map((row) => Float64Array.from(row));
    this.b = Float64Array.from(b);
    this.e = bHat ? Float64Array.from(b, (bi, i) => bi - bHat[i]!) : undefined;
    const last = a[s - 1]!;
    this.fsal = s > 1 && c[s - 1] === 1 && b[s - 1] === 0 && last.every((x, j) => x === b[j]);
    this.dense = (spec.dense ?? hermiteWeights(b)).map((row) => Float64Array.from(row));
    this.denseOrder = spec.dense ? (spec.denseOrder ?? order - 1) : Math.min(3, order);
    this.reference = spec.reference;

    // The interpolant must reproduce y₁ at θ = 1: Σₚ Wₚᵢ = bᵢ (f₁'s column folds onto the FSAL stage).
    this.dense.forEach((row) => {
      if (row.length !== s + 1) fail(`dense rows need ${s + 1} columns (stages + f₁), got ${row.length}`);
    });
    for (let i = 0; i <= s; i++) {
      let sum = 0;
      for (const row of this.dense) sum += row[i]!;
      if (this.fsal && i === s - 1) for (const row of this.dense) sum += row[s]!;
      if (this.fsal && i === s) continue;
      const target = i < s ? b[i]! : 0;
      if (Math.abs(sum - target) > tol * 1e3) fail(`dense output at θ = 1 gives weight ${sum} on K[${i}], expected ${target}`);
    }
    Object.freeze(this);
  }

  /** Whether the tableau carries an embedded error estimate. */
  get adaptive(): boolean {
    return this.e !== undefined;
  }
}

/**
 * Cubic Hermite interpolation through (y₀, h·k₀) and (y₁, h·f₁) with y₁ − y₀ = hΣbᵢkᵢ:
 *   y(θ) − y₀ = (3θ² − 2θ³)(y₁ − y₀) + (θ − 2θ² + θ³) h k₀ + (θ³ − θ²) h f₁.
 */
export function hermiteWeights(b: readonly number[]): number[][] {
  const row = (wb: number, w0: number, w1: number): number[] => {
    const r = b.map((bi) => wb * bi);
    r[0]! += w0;
    r.push(w1);
    return r;
  };
  return [row(0, 1, 0), row(3, -2, -1), row(-2, 1, 1)];
}

/**
 * Dense rows from per-column weight polynomials bᵢ(θ) (ascending coefficients, bᵢ(0) = 0):
 * row p−1 holds the θᵖ coefficients. Columns past `polys.length` (f₁ when not listed) are 0.
 */
export function denseFromPolynomials(polys: readonly (readonly number[])[], columns: number): number[][] {
  const degree = Math.max(...polys.map((p) => p.length - 1));
  return Array.from({ length: degree }, (_, r) => Array.from({ length: columns }, (_, i) => polys[i]?.[r + 1] ?? 0));
}

/** Product of polynomials given by ascending coefficients. */
export function polyMul(...factors: (readonly number[])[]): number[] {
  return factors.reduce<number[]>(
    (acc, f) => {
      const out = new Array<number>(acc.length + f.length - 1).fill(0);
      acc.forEach((x, i) => f.forEach((y, j) => (out[i + j]! += x * y)));
      return out;
    },
    [1],
  );
}
