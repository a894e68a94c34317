/**
 * ESDIRK tableaux (explicit first stage, singly diagonally implicit) as validated data:
 *
 *     0  | 0
 *     c₁ | a₁₀ γ
 *     c₂ | a₂₀ a₂₁ γ
 *     …  | …
 *     1  | b₀  b₁ … γ      (stiffly accurate: the last row is b, so y₁ is the last stage)
 *
 * Construction checks the row sums, Σb = 1, Σ(b − b̂) = 0, every Butcher order condition of b
 * and b̂ with the full (diagonal-including) matrix, that the predictor rows sum to 1, and the dense
 * output: a continuous extension bᵢ(θ) = Σₚ Wₚᵢ θᵖ when the spec gives one (checked against every
 * order condition up to its `denseOrder`, θ-power by θ-power, and b(1) = b), else the cubic Hermite
 * interpolant through (y₀, k₀) and (y₁, k_{s−1}) (stiff accuracy makes the last stage derivative
 * f(t₁, y₁), so the next step starts from it: FSAL).
 */
import { BiflowError } from '../errors.js';
import type { StepInterpolant } from './dense.js';
import { checkRungeKutta, hermiteWeights } from './tableau.js';
import { orderResiduals } from './trees.js';

/** The coefficients of an ESDIRK method. */
export interface DirkSpec {
  readonly name: string;
  readonly order: number;
  readonly embeddedOrder: number;
  readonly gamma: number;
  readonly c: readonly number[];
  /** Lower rows with the diagonal: `a[i]` has i + 1 entries; `a[0] = [0]`, `a[i][i] = γ`. */
  readonly a: readonly (readonly number[])[];
  readonly bHat: readonly number[];
  /** Stage predictor: the guess kᵢ⁰ = Σⱼ<ᵢ αᵢⱼkⱼ for stage i's derivative (rows sum to 1). */
  readonly predictor?: readonly (readonly number[])[];
  /** Continuous extension: row p−1 holds the θᵖ coefficients of bᵢ(θ) over the s stages. */
  readonly dense?: readonly (readonly number[])[];
  /** Order of the continuous extension (required with `dense`). */
  readonly denseOrder?: number;
  readonly checkTol?: number;
  readonly reference: string;
}

/** A validated, stiffly accurate ESDIRK method. */
export class DirkTableau {
  readonly name: string;
  readonly order: number;
  readonly embeddedOrder: number;
  readonly stages: number;
  readonly gamma: number;
  readonly c: Float64Array;
  /** Strictly lower parts of the rows (the diagonal is γ). */
  readonly a: readonly Float64Array[];
  readonly b: Float64Array;
  readonly e: Float64Array;
  readonly predictor: readonly Float64Array[];
  readonly interpolant: StepInterpolant;
  /** Order of the dense output (local error O(h^{denseOrder+1})). */
  readonly denseOrder: number;
  readonly reference: string;

  constructor(spec: DirkSpec) {
    const { name, gamma, c, a, bHat } = spec;
    const s = a.length;
    const tol = spec.checkTol ?? 1e-12;
    const fail = (what: string): never => {
      throw new BiflowError(`DirkTableau(${name}): ${what}. The coefficients are mistyped.`);
    };
    if (c.length !== s || bHat.length !== s) fail(`c and bHat need ${s} entries`);
    a.forEach((row, i) => {
      if (row.length !== i + 1) fail(`row ${i} of a has ${row.length} entries, expected ${i + 1} (the diagonal included)`);
      if (row[i] !== (i === 0 ? 0 : gamma)) fail(`a[${i}][${i}] = ${row[i]}, expected ${i === 0 ? '0 (explicit first stage)' : `γ = ${gamma}`}`);
    });
    const b = a[s - 1]!;
    if (c[s - 1] !== 1) fail('the last stage must sit at c = 1 (stiffly accurate)');
    checkRungeKutta(fail, { a, b, bHat, c, order: spec.order, embeddedOrder: spec.embeddedOrder, tol });
    const predictor = (spec.predictor ?? a.map((_, i) => (i === 0 ? [] : [1, ...new Array<number>(i - 1).fill(0)]))).map((row, i) => {
      if (row.length !== i) fail(`predictor row ${i} has ${row.length} entries, expected ${i}`);
      const sum = row.reduce((x, y) => x + y, 0);
      if (i > 0 && Math.abs(sum - 1) > tol) fail(`predictor row ${i} sums to ${sum}, not 1`);
      return Float64Array.from(row);
    });
    this.name = name;
    this.order = spec.order;
    this.embeddedOrder = spec.embeddedOrder;
    this.stages = s;
    this.gamma = gamma;
    this.c = Float64Array.from(c);
    this.a = a.map((row) => Float64Array.from(row.slice(0, -1)));
    this.b = Float64Array.from(b);
    this.e = Float64Array.from(b, (bi, i) => bi - bHat[i]!);
    this.predictor = predictor;
    const dense = spec.dense ? checkContinuous(fail, a, b, spec.dense, spec.denseOrder ?? 0, tol) : hermiteWeights(b);
    this.interpolant = Object.freeze({ stages: s, fsal: true, e: this.e, dense: dense.map((row) => Float64Array.from(row)) });
    this.denseOrder = spec.dense ? spec.denseOrder! : Math.min(3, spec.order);
    this.reference = spec.reference;
    Object.freeze(this);
  }
}

/**
 * Validates a continuous extension bᵢ(θ) = Σₚ Wₚᵢ θᵖ of order q: Σᵢ bᵢ(θ)Φᵢ(τ) = θ^|τ|/γ(τ) for
 * every tree with |τ| ≤ q splits by powers of θ into Σᵢ WₚᵢΦᵢ(τ) = [p = |τ|]/γ(τ); and b(1) = b.
 * Returns the rows with the f₁ column (0: FSAL, the last stage is f₁) the solve loop expects.
 */
function checkContinuous(fail: (what: string) => never, a: readonly (readonly number[])[], b: readonly number[], rows: readonly (readonly number[])[], q: number, tol: number): number[][] {
  const s = b.length;
  if (!(Number.isInteger(q) && q >= 1)) fail(`denseOrder must be a positive integer with dense, got ${q}`);
  rows.forEach((row, p) => {
    if (row.length !== s) fail(`dense row ${p} has ${row.length} entries, expected ${s}`);
    for (const { tree, residual } of orderResiduals(a, row, q)) {
      const got = residual + 1 / tree.gamma;
      const want = tree.order === p + 1 ? 1 / tree.gamma : 0;
      if (Math.abs(got - want) > tol * 10) fail(`dense output violates the order-${tree.order} condition for tree ${tree.key} in its θ^${p + 1} term by ${got - want}`);
    }
  });
  for (let i = 0; i < s; i++) {
    const sum = rows.reduce((acc, row) => acc + row[i]!, 0);
    if (Math.abs(sum - b[i]!) > tol * 10) fail(`dense output at θ = 1 gives weight ${sum} on stage ${i}, expected b = ${b[i]}`);
  }
  return rows.map((row) => [...row, 0]);
}
