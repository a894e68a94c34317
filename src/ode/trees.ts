/**
 * Rooted trees and the Runge–Kutta order conditions (Butcher's theory).
 *
 * A method (A, b) has order p iff for every rooted tree τ with |τ| ≤ p
 *   Σᵢ bᵢ Φᵢ(τ) = 1 / γ(τ),
 * where Φ(•) = 𝟙, Φ([τ₁,…,τₘ]) = ∏ₖ A·Φ(τₖ) (elementwise) and γ([τ₁,…,τₘ]) = |τ| ∏ₖ γ(τₖ).
 * There are 1, 1, 2, 4, 9, 20, 48, 115 trees of orders 1…8.
 *
 * References: J. C. Butcher, "Numerical Methods for Ordinary Differential Equations", §3.
 */

/** A rooted tree: its children in canonical (sorted) order. */
export interface RootedTree {
  readonly order: number;
  readonly gamma: number;
  readonly children: readonly RootedTree[];
  /** Canonical bracket notation, e.g. `[[][]]`. */
  readonly key: string;
}

function makeTree(children: RootedTree[]): RootedTree {
  const sorted = [...children].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const order = 1 + sorted.reduce((s, c) => s + c.order, 0);
  const gamma = order * sorted.reduce((g, c) => g * c.gamma, 1);
  return { order, gamma, children: sorted, key: `[${sorted.map((c) => c.key).join('')}]` };
}

const cache: RootedTree[][] = [[], [makeTree([])]];

/** All non-isomorphic rooted trees with exactly `n` vertices. */
export function treesOfOrder(n: number): readonly RootedTree[] {
  for (let m = cache.length; m <= n; m++) {
    // Children form a multiset of trees whose orders sum to m − 1; enumerate it in a canonical
    // non-decreasing order of (order, index) so each multiset is produced once.
    const out: RootedTree[] = [];
    const pick = (remaining: number, minOrder: number, minIdx: number, acc: RootedTree[]): void => {
      if (remaining === 0) {
        out.push(makeTree(acc));
        return;
      }
      for (let o = minOrder; o <= remaining; o++) {
        const pool = cache[o]!;
        for (let i = o === minOrder ? minIdx : 0; i < pool.length; i++) {
          acc.push(pool[i]!);
          pick(remaining - o, o, i, acc);
          acc.pop();
        }
      }
    };
    pick(m - 1, 1, 0, []);
    cache.push(out);
  }
  return cache[n]!;
}

/** Trees of orders 1…p. */
export function treesUpToOrder(p: number): RootedTree[] {
  const all: RootedTree[] = [];
  for (let n = 1; n <= p; n++) all.push(...treesOfOrder(n));
  return all;
}

/**
 * Residuals `bᵀΦ(τ) − 1/γ(τ)` of the order conditions for every tree up to order p.
 * `a` is the stage matrix as rows: strictly lower-triangular for explicit methods (row i has i
 * entries), with the diagonal for DIRK methods (row i has i + 1 entries).
 *
 * Rosenbrock methods pass `linear`, the matrix β = α + Γ (diagonal included): a vertex with exactly
 * one child is an f′ that the method also applies through its Jacobian terms, so its edge weight
 * is βᵢⱼ, while vertices with two or more children keep αᵢⱼ. With that rule the conditions take
 * the Runge–Kutta form Σ bᵢΦᵢ(τ) = 1/γ(τ) (Hairer, Wanner, Solving ODEs II, §IV.7, Table 7.1
 * written out: e.g. Σ bᵢβᵢ = 1/2 − γ for τ = [•]).
 */
export function orderResiduals(
  a: readonly (readonly number[])[],
  b: readonly number[],
  p: number,
  linear?: readonly (readonly number[])[],
): { tree: RootedTree; residual: number }[] {
  const s = b.length;
  const phi = new Map<string, Float64Array>();
  const weights = (tree: RootedTree): Float64Array => {
    const hit = phi.get(tree.key);
    if (hit) return hit;
    const v = new Float64Array(s).fill(1);
    const m = linear && tree.children.length === 1 ? linear : a;
    for (const child of tree.children) {
      const g = weights(child);
      for (let i = 0; i < s; i++) {
        const row = m[i] ?? [];
        let acc = 0;
        for (let j = 0; j < row.length; j++) acc += row[j]! * g[j]!;
        v[i]! *= acc;
      }
    }
    phi.set(tree.key, v);
    return v;
  };
  return treesUpToOrder(p).map((tree) => {
    const g = weights(tree);
    let acc = 0;
    for (let i = 0; i < s; i++) acc += b[i]! * g[i]!;
    return { tree, residual: acc - 1 / tree.gamma };
  });
}
