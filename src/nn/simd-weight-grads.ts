/**
 * The CNF op's weight gradients on tfjs-wasm by the SIMD128 module (backend/wasm-simd.ts):
 * W̄ = hᵀ·ā + uᵀ·ǡ and b̄ = Σ_rows ā for a layer's input h [B, p], its tangent input u [K·B, p]
 * and the cotangents ā [B, n], ǡ [K·B, n] of its pre-activation and tangent.
 *
 * Why: every operand here is new at every evaluation, and tfjs-wasm packs the right operand of a
 * product anew for a new tensor (for the B-row operands of these contractions about as long as
 * the product itself: 1.4 ms fresh against 0.7 ms cached for [64, 2000]·[2000, 64]) and the left
 * one has to be transposed first. The module reads all four in place, row by row, and adds the
 * second contraction into the first's sums (the rows of [h; u] against those of [ā; ǡ], in order:
 * the sums of the stacked product, one rounding fewer than two products and an add); b̄ is one
 * more pass of the same tile over ā with a stride-0 column of ones.
 */
import { tf } from '../backend/engine.js';
import type { HostBuffers } from '../backend/kernels.js';
import { hostTranspose } from '../backend/host-ops.js';
import { heapAddress, simdModule } from '../backend/wasm-simd.js';
import type { SimdModule } from '../backend/wasm-simd.js';

type T = tf.TensorInfo;

/** The columns a tile of the module accumulates. */
const TILE = 16;

/** Whether x is a buffer of the backend's (not a host part of one, which has no address of its own). */
function onHeap(x: T): boolean {
  return (tf.engine().backend as unknown as { dataIdMap: { has(id: unknown): boolean } }).dataIdMap.has(x.dataId);
}

/** One contraction xᵀ·y: byte addresses of x [N, P] and y [N, Q], and N. */
type Pair = readonly [number, number, number];

/**
 * out [P, Q] = Σ over the pairs (x [N, P], y [N, Q]) of xᵀ·y, Q a multiple of 16, the pairs' rows
 * in order: the module's 2 × 16 tiles add into out; an odd last row takes its one-row tile per
 * pair, which writes its sum (into `scratch` [16] past the first pair, added here).
 */
function contract(k: SimdModule, host: HostBuffers, pairs: readonly Pair[], P: number, Q: number, out: T, scratch: T): void {
  const o = heapAddress(out);
  const half = P >> 1;
  host.view(out).fill(0, 0, 2 * half * Q);
  if (half > 0) for (const [x, y, N] of pairs) k.grad(x, y, N, 4 * P, 4 * Q, o, 4 * Q, half, Q / TILE);
  if (P % 2 === 0) return;
  const s = heapAddress(scratch);
  for (let j = 0, at = (P - 1) * Q; j < Q; j += TILE) {
    pairs.forEach(([x, y, N], i) => {
      k.tile1(x + 4 * (P - 1), y + 4 * j, N, 4 * P, 4 * Q, i === 0 ? o + 4 * (at + j) : s, 4 * Q);
      if (i === 0) return;
      const [ov, sv] = [host.view(out), host.view(scratch)];
      for (let c = 0; c < TILE; c++) ov[at + j + c]! += sv[c]!;
    });
  }
}

/**
 * [W̄ [p, n], b̄ [n]] by the SIMD module where it runs and the shapes fit its tiles (n, or p for the
 * transposed contraction W̄ᵀ = āᵀ·h + ǡᵀ·u, a multiple of 16); null otherwise (the caller's
 * products run).
 */
export function simdWeightGrads(host: HostBuffers, h: T, aB: T, u: T, adB: T): [T, T] | null {
  const [B, p] = h.shape as [number, number];
  const n = aB.shape[1]!;
  const KB = u.shape[0]!;
  const wide = n % TILE === 0;
  // Every count the module loops over must be ≥ 1: its loops test at the end (0 would wrap).
  if ((!wide && p % TILE !== 0) || B < 1 || n < 1 || p < 1) return null;
  const k = simdModule();
  if (!k || ![h, aB, u, adB].every(onHeap)) return null;
  // Every buffer before any view: an allocation may grow the heap, which detaches older views.
  const [db, scratch, one] = [host.alloc([n]), host.alloc([TILE]), host.alloc([1])];
  const [dW, dWt] = wide ? [host.alloc([p, n]), null] : [null, host.alloc([n, p])];
  const [ha, aa, ua, ada] = [h, aB, u, adB].map(heapAddress) as [number, number, number, number];
  if (dWt) contract(k, host, [[aa, ha, B], [ada, ua, KB]], n, p, dWt, scratch);
  else contract(k, host, [[ha, aa, B], [ua, ada, KB]], p, n, dW!, scratch);
  const [dbv, av] = [host.view(db), host.view(aB)];
  if (wide) {
    host.view(one)[0] = 1;
    for (let j = 0; j < n; j += TILE) k.tile1(heapAddress(one), aa + 4 * j, B, 0, 4 * n, heapAddress(db) + 4 * j, 4 * n);
  } else {
    // Narrow ā (the output layer's D columns): the column sums in rows' order, and W̄ from W̄ᵀ.
    dbv.fill(0);
    for (let i = 0; i < B; i++) for (let j = 0; j < n; j++) dbv[j]! += av[i * n + j]!;
  }
  return [dW ?? hostTranspose(host, dWt!), db];
}
