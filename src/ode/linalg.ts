/**
 * A small dense LU factorisation with partial pivoting, for the Newton and W matrices of the
 * stiff solvers (states of a few to a few hundred components). Row-major storage; factor and
 * solve work in place and allocate nothing.
 *
 * References: Golub, Van Loan, "Matrix Computations", §3.4 (Gaussian elimination with partial
 * pivoting).
 */

/** An n×n LU factorisation P·M = L·U held in one row-major buffer (L unit lower, U upper). */
export class DenseLU {
  /** L below the diagonal, U on and above it. */
  readonly lu: Float64Array;
  /** Row `i` of the factorisation is row `pivot[i]` of the original matrix. */
  readonly pivot: Int32Array;

  constructor(readonly n: number) {
    this.lu = new Float64Array(n * n);
    this.pivot = new Int32Array(n);
  }

  /**
   * Factorises the matrix already written into {@link DenseLU.lu}. Returns false when an entry is
   * not finite or a pivot is zero (the matrix is singular to working precision).
   */
  factor(): boolean {
    const { n, lu, pivot } = this;
    // A NaN off the pivot path would survive elimination unnoticed: check every entry first.
    for (let i = 0; i < n * n; i++) if (!Number.isFinite(lu[i]!)) return false;
    for (let i = 0; i < n; i++) pivot[i] = i;
    for (let k = 0; k < n; k++) {
      let p = k;
      let best = Math.abs(lu[k * n + k]!);
      for (let i = k + 1; i < n; i++) {
        const v = Math.abs(lu[i * n + k]!);
        if (v > best) {
          best = v;
          p = i;
        }
      }
      if (!(best > 0) || !Number.isFinite(best)) return false;
      if (p !== k) {
        for (let j = 0; j < n; j++) {
          const x = lu[k * n + j]!;
          lu[k * n + j] = lu[p * n + j]!;
          lu[p * n + j] = x;
        }
        const q = pivot[k]!;
        pivot[k] = pivot[p]!;
        pivot[p] = q;
      }
      const inv = 1 / lu[k * n + k]!;
      for (let i = k + 1; i < n; i++) {
        const m = lu[i * n + k]! * inv;
        lu[i * n + k] = m;
        if (m !== 0) for (let j = k + 1; j < n; j++) lu[i * n + j]! -= m * lu[k * n + j]!;
      }
    }
    return true;
  }

  /**
   * Writes M = I − hg·J into {@link DenseLU.lu} from the n×n block of `J` that starts at `offset`
   * (row-major) and factorises it; false as {@link DenseLU.factor}.
   */
  factorShifted(J: ArrayLike<number>, offset: number, hg: number): boolean {
    const { n, lu } = this;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) lu[i * n + j] = -hg * J[offset + i * n + j]!;
      lu[i * n + i]! += 1;
    }
    return this.factor();
  }

  /** Solves M·x = b; `b` and `x` may be the same buffer only if `scratch` is given separately. */
  solve(b: Float64Array, x: Float64Array, scratch: Float64Array): Float64Array {
    const { n, lu, pivot } = this;
    for (let i = 0; i < n; i++) scratch[i] = b[pivot[i]!]!;
    for (let i = 0; i < n; i++) {
      let acc = scratch[i]!;
      for (let j = 0; j < i; j++) acc -= lu[i * n + j]! * scratch[j]!;
      scratch[i] = acc;
    }
    for (let i = n - 1; i >= 0; i--) {
      let acc = scratch[i]!;
      for (let j = i + 1; j < n; j++) acc -= lu[i * n + j]! * scratch[j]!;
      scratch[i] = acc / lu[i * n + i]!;
    }
    for (let i = 0; i < n; i++) x[i] = scratch[i]!;
    return x;
  }

  /**
   * Solves Mᵀ·x = b (the adjoint of {@link DenseLU.solve}: Mᵀ = Uᵀ·Lᵀ·P, so Uᵀw = b forwards,
   * Lᵀv = w backwards, x = Pᵀv). Same buffer rules as solve.
   */
  solveTransposed(b: Float64Array, x: Float64Array, scratch: Float64Array): Float64Array {
    const { n, lu, pivot } = this;
    for (let i = 0; i < n; i++) {
      let acc = b[i]!;
      for (let j = 0; j < i; j++) acc -= lu[j * n + i]! * scratch[j]!;
      scratch[i] = acc / lu[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let acc = scratch[i]!;
      for (let j = i + 1; j < n; j++) acc -= lu[j * n + i]! * scratch[j]!;
      scratch[i] = acc;
    }
    for (let i = 0; i < n; i++) x[pivot[i]!] = scratch[i]!;
    return x;
  }
}

/**
 * B independent n×n factorisations of M_b = I − hg·J_b, one per row of a batched state (each row
 * an independent system, so its Newton matrix is block diagonal: B small LUs, O(B·n³), instead of
 * one (B·n)×(B·n) LU). Solves read and write flat B·n buffers.
 */
export class BatchedLU {
  readonly rows: DenseLU[];
  private readonly bRow: Float64Array;
  private readonly xRow: Float64Array;
  private readonly scratch: Float64Array;

  constructor(readonly batch: number, readonly n: number) {
    this.rows = Array.from({ length: batch }, () => new DenseLU(n));
    this.bRow = new Float64Array(n);
    this.xRow = new Float64Array(n);
    this.scratch = new Float64Array(n);
  }

  /** Factorises every M_b from `J` (B·n·n entries, row b's block at b·n²); false if any is singular. */
  factor(J: ArrayLike<number>, hg: number): boolean {
    const nn = this.n * this.n;
    return this.rows.every((lu, b) => lu.factorShifted(J, b * nn, hg));
  }

  /** x_b ← M_b⁻¹·b_b (or M_b⁻ᵀ·b_b when `transposed`) for every row; `b` and `x` may be the same buffer. */
  solve(b: ArrayLike<number>, x: Float64Array, transposed = false): Float64Array {
    const { n, bRow, xRow, scratch } = this;
    this.rows.forEach((lu, r) => {
      for (let i = 0; i < n; i++) bRow[i] = b[r * n + i]!;
      if (transposed) lu.solveTransposed(bRow, xRow, scratch);
      else lu.solve(bRow, xRow, scratch);
      x.set(xRow, r * n);
    });
    return x;
  }
}
