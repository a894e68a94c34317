/**
 * Exact linear assignment (minimum-cost perfect matching of an n×n cost matrix) in plain JS, for
 * the minibatch optimal-transport coupling of OT-CFM: pair each data point of a batch with one
 * noise point so that the total squared distance is least.
 *
 * The method is Jonker and Volgenant's — column reduction and reduction transfer, two rounds of
 * augmenting row reduction, then Dijkstra-style shortest augmenting paths on the reduced costs
 * c[i][j] − v[j] — with the column prices v first brought near an equilibrium by a few ε-scaled
 * auction rounds (Bertsekas) on batches of 16 and more. Float costs can make the exact row
 * reduction a long price war of tiny decrements; the auction's ε-steps cannot. Rows the auction
 * leaves only ε-optimal are freed before the exact phases, and each exact phase keeps
 * complementary slackness, so the result is an optimal assignment (exact up to float64 rounding
 * in the cost comparisons). Workspaces live in the solver and are reused: a solve allocates nothing.
 *
 * References: R. Jonker, A. Volgenant, "A shortest augmenting path algorithm for dense and sparse
 * linear assignment problems", Computing 38 (1987) 325–340; D. P. Bertsekas, "The auction
 * algorithm: a distributed relaxation method for the assignment problem", Annals of Operations
 * Research 14 (1988) 105–123; Tong et al., "Improving and
 * generalizing flow-based generative models with minibatch optimal transport", arXiv:2302.00482.
 */
import { InvalidArgumentError } from '../errors.js';

/** Row scans per round of exact augmenting row reduction, in multiples of n (float costs can start long price wars). */
const ARR_BUDGET = 4;
/**
 * From this size on, auction rounds set the prices first, with ε from EPS_FIRST·range down to
 * above EPS_LAST·range, × EPS_STEP a round (range: of the costs). Tuned on 256-point batches of
 * 8gaussians against N(0, I): fewer rounds leave more work to the exact phase, more cost bids.
 */
const AUCTION_MIN = 16;
const EPS_FIRST = 0.01;
const EPS_LAST = 1e-4;
const EPS_STEP = 0.1;

/** A reusable exact assignment solver for n×n cost matrices. */
export class AssignmentSolver {
  /** Column prices (dual variables of the columns). */
  private readonly v: Float64Array;
  /** Shortest-path distances and predecessors of the augmentation phase. */
  private readonly d: Float64Array;
  private readonly pred: Int32Array;
  private readonly cols: Int32Array;
  private readonly free: Int32Array;
  private readonly matches: Int32Array;
  /** Row → column and column → row of the current (partial) assignment; −1: none. */
  private readonly x: Int32Array;
  private readonly y: Int32Array;

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('AssignmentSolver', 'n', n, 'must be a positive integer, got {value}.');
    this.v = new Float64Array(n);
    this.d = new Float64Array(n);
    this.pred = new Int32Array(n);
    this.cols = new Int32Array(n);
    this.free = new Int32Array(n);
    this.matches = new Int32Array(n);
    this.x = new Int32Array(n);
    this.y = new Int32Array(n);
  }

  /**
   * The assignment of least total cost: `out[i]` is the column of row i. `cost` is row-major
   * n×n with finite entries.
   */
  solve(cost: ArrayLike<number>, out: Int32Array = new Int32Array(this.n)): Int32Array {
    const { n, x } = this;
    if (cost.length !== n * n) throw new InvalidArgumentError('AssignmentSolver.solve', 'cost', cost.length, `must hold n·n = ${n * n} entries, got {value}.`);
    if (out.length !== n) throw new InvalidArgumentError('AssignmentSolver.solve', 'out', out.length, `must have length n = ${n}, got {value}.`);
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < n * n; k++) {
      const h = cost[k]!;
      if (!Number.isFinite(h)) throw new InvalidArgumentError('AssignmentSolver.solve', `cost[${k}]`, h, 'must be finite, got {value}.');
      if (h < lo) lo = h;
      if (h > hi) hi = h;
    }
    let free = this.reduceColumns(cost);
    if (free > 0 && n >= AUCTION_MIN) {
      // ε-scaled auction rounds (Bertsekas) move the prices near an equilibrium; the rows whose
      // column is then not exactly their cheapest are freed, and the exact phases assign them.
      for (let eps = (hi - lo) * EPS_FIRST; eps > (hi - lo) * EPS_LAST; eps *= EPS_STEP) {
        this.x.fill(-1);
        this.y.fill(-1);
        for (let i = 0; i < n; i++) this.free[i] = i;
        this.reduceRows(cost, n, eps, Infinity);
      }
      free = this.freeUnslack(cost);
    }
    for (let round = 0; round < 2 && free > 0; round++) free = this.reduceRows(cost, free, 0, ARR_BUDGET * n);
    for (let f = 0; f < free; f++) this.augment(cost, this.free[f]!);
    out.set(x);
    return out;
  }

  /** Column reduction and reduction transfer; returns the number of free rows (listed in `free`). */
  private reduceColumns(c: ArrayLike<number>): number {
    const { n, v, x, y, matches } = this;
    matches.fill(0);
    x.fill(-1);
    // Each column goes to its cheapest row; a row that gets several keeps the first.
    for (let j = n - 1; j >= 0; j--) {
      let min = c[j]!;
      let imin = 0;
      for (let i = 1; i < n; i++) {
        const h = c[i * n + j]!;
        if (h < min) {
          min = h;
          imin = i;
        }
      }
      v[j] = min;
      if (++matches[imin] === 1) {
        x[imin] = j;
        y[j] = imin;
      } else y[j] = -1;
    }
    let free = 0;
    for (let i = 0; i < n; i++) {
      if (matches[i] === 0) this.free[free++] = i;
      else if (matches[i] === 1) {
        // The row's only column gets cheaper by the row's slack to its second-best column.
        const j1 = x[i]!;
        let min = Infinity;
        for (let j = 0; j < n; j++) if (j !== j1) min = Math.min(min, c[i * n + j]! - v[j]!);
        if (min < Infinity) v[j1] -= min;
      }
    }
    return free;
  }

  /**
   * Augmenting row reduction: a free row takes its best column (by reduced cost), lowering that
   * column's price to the row's second-best value (less ε: an auction bid, Bertsekas's, where
   * ε > 0), and evicts the column's row. At most `budget` row scans; returns the number of rows
   * still free. With ε = 0 every assigned row keeps its cheapest column (complementary slackness).
   */
  private reduceRows(c: ArrayLike<number>, count: number, eps: number, budget: number): number {
    const { n, v, x, y, free } = this;
    let k = 0;
    let left = 0;
    while (k < count && budget-- > 0) {
      const i = free[k++]!;
      const row = i * n;
      let umin = c[row]! - v[0]!;
      let j1 = 0;
      let usub = Infinity;
      let j2 = -1;
      for (let j = 1; j < n; j++) {
        const h = c[row + j]! - v[j]!;
        if (h < usub) {
          if (h >= umin) {
            usub = h;
            j2 = j;
          } else {
            usub = umin;
            umin = h;
            j2 = j1;
            j1 = j;
          }
        }
      }
      let i0 = y[j1]!;
      const lower = umin < usub || eps > 0;
      if (lower) v[j1] -= usub - umin + eps;
      else if (i0 >= 0 && j2 >= 0) {
        // A tie: take the second-best column instead of evicting.
        j1 = j2;
        i0 = y[j2]!;
      }
      x[i] = j1;
      y[j1] = i;
      if (i0 >= 0) {
        x[i0] = -1;
        // The evicted row is tried again at once where the price fell, later otherwise.
        if (lower) free[--k] = i0;
        else free[left++] = i0;
      }
    }
    // Out of budget: the rows not yet tried stay free for the augmentation phase.
    while (k < count) free[left++] = free[k++]!;
    return left;
  }

  /**
   * Frees every row whose column is not its cheapest by reduced cost (the rows an auction left
   * ε-optimal only); the rest satisfy complementary slackness. Returns the count of free rows.
   */
  private freeUnslack(c: ArrayLike<number>): number {
    const { n, v, x, y, free } = this;
    let left = 0;
    for (let i = 0; i < n; i++) {
      const row = i * n;
      const j1 = x[i]!;
      if (j1 < 0) {
        free[left++] = i;
        continue;
      }
      const u = c[row + j1]! - v[j1]!;
      for (let j = 0; j < n; j++) {
        if (c[row + j]! - v[j]! < u) {
          x[i] = -1;
          y[j1] = -1;
          free[left++] = i;
          break;
        }
      }
    }
    return left;
  }

  /** Assigns the free row `start` by a shortest augmenting path on the reduced costs, updating prices. */
  private augment(c: ArrayLike<number>, start: number): void {
    const { n, v, d, pred, cols, x, y } = this;
    for (let j = 0; j < n; j++) {
      d[j] = c[start * n + j]! - v[j]!;
      pred[j] = start;
      cols[j] = j;
    }
    // cols[0, low): scanned; cols[low, up): at the current minimum distance, to scan; the rest unseen.
    let low = 0;
    let up = 0;
    let last = 0;
    let min = 0;
    let end = -1;
    while (end < 0) {
      if (up === low) {
        last = low;
        min = d[cols[up++]!]!;
        for (let k = up; k < n; k++) {
          const j = cols[k]!;
          const h = d[j]!;
          if (h <= min) {
            if (h < min) {
              up = low;
              min = h;
            }
            cols[k] = cols[up]!;
            cols[up++] = j;
          }
        }
        for (let k = low; k < up; k++) {
          if (y[cols[k]!]! < 0) {
            end = cols[k]!;
            break;
          }
        }
        if (end >= 0) break;
      }
      const j1 = cols[low++]!;
      const i = y[j1]!;
      const row = i * n;
      const h = c[row + j1]! - v[j1]! - min;
      for (let k = up; k < n; k++) {
        const j = cols[k]!;
        const dj = c[row + j]! - v[j]! - h;
        if (dj < d[j]!) {
          d[j] = dj;
          pred[j] = i;
          if (dj === min) {
            if (y[j]! < 0) {
              end = j;
              break;
            }
            cols[k] = cols[up]!;
            cols[up++] = j;
          }
        }
      }
    }
    // Columns scanned before the last minimum: prices rise by how much nearer they were.
    for (let k = 0; k < last; k++) {
      const j = cols[k]!;
      v[j] += d[j]! - min;
    }
    for (let i = -1; i !== start; ) {
      i = pred[end]!;
      y[end] = i;
      const next = x[i]!;
      x[i] = end;
      end = next;
    }
  }
}

/**
 * The exact assignment of rows a[i] to rows b[σ(i)] of two [n, D] row-major point sets that
 * minimises Σᵢ ‖a[i] − b[σ(i)]‖² (the discrete optimal transport plan between equal-weight
 * samples). Returns σ. Pass a `solver` (and `cost`, n·n) to reuse their memory across batches.
 *
 * @example
 * ```ts
 * import { squaredDistanceAssignment } from 'biflow';
 * const a = [0, 0, 10, 10], b = [10, 10, 0, 0];            // two 2-D points each, row-major
 * squaredDistanceAssignment(a, b, 2);                       // Int32Array [1, 0]: a[0] ↔ b[1], a[1] ↔ b[0]
 * ```
 */
export function squaredDistanceAssignment(a: ArrayLike<number>, b: ArrayLike<number>, dim: number, solver?: AssignmentSolver, cost?: Float64Array): Int32Array {
  const n = a.length / dim;
  if (!Number.isInteger(n) || n < 1 || b.length !== a.length) throw new InvalidArgumentError('squaredDistanceAssignment', 'b', b.length, `must hold as many rows of ${dim} values as a (${a.length} values), got {value} values.`);
  const s = solver ?? new AssignmentSolver(n);
  if (s.n !== n) throw new InvalidArgumentError('squaredDistanceAssignment', 'solver.n', s.n, `must equal the number of rows ${n}, got {value}.`);
  const C = cost ?? new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s2 = 0;
      for (let k = 0; k < dim; k++) {
        const e = a[i * dim + k]! - b[j * dim + k]!;
        s2 += e * e;
      }
      C[i * n + j] = s2;
    }
  }
  return s.solve(C);
}
