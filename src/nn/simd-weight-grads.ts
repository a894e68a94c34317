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
import { hostColumnSums, hostTranspose } from '../backend/host-ops.js';
import { SIMD_TILE as TILE, contract, onHeap, simdColumnSums } from '../backend/simd-contract.js';
import { heapAddress, simdModule } from '../backend/wasm-simd.js';

type T = tf.TensorInfo;

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
  const scratch = host.alloc([TILE]);
  const [dW, dWt] = wide ? [host.alloc([p, n]), null] : [null, host.alloc([n, p])];
  const [ha, aa, ua, ada] = [h, aB, u, adB].map(heapAddress) as [number, number, number, number];
  if (dWt) contract(k, host, [[aa, ha, B], [ada, ua, KB]], n, p, dWt, scratch);
  else contract(k, host, [[ha, aa, B], [ua, ada, KB]], p, n, dW!, scratch);
  // Narrow ā (the output layer's D columns): the column sums by a host loop, and W̄ from W̄ᵀ.
  const db = (wide ? simdColumnSums(host, aB) : null) ?? hostColumnSums(host, aB);
  return [dW ?? hostTranspose(host, dWt!), db];
}
