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
}
