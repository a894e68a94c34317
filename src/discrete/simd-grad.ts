/**
 * Xᵀ·Y [P, Q] for row-major X [N, P] and Y [N, Q] on tfjs-wasm's heap by the SIMD128 module of
 * backend/wasm-simd.ts: the weight gradient of a dense layer (X the layer's input, Y the cotangent
 * of its pre-activation), a contraction over the batch rows.
 *
 * Why not tfjs-wasm's product: XNNPACK packs the right operand of every product anew when the
 * tensor is new (≈ 0.35 ms for [1024, 64], as long as the product itself) and the left one has
 * to be transposed first (≈ 0.08 ms); here both are read in place. The module accumulates tiles
 * of 2 rows × 16 columns of the result in eight SIMD registers, a chunk of 64 rows at a time (the
 * chunk's rows of X and Y stay in the L1 cache while every tile reads them), each a product then
 * a sum in float32, in row order, as XNNPACK's microkernels do over their K loop: the results
 * are the product's, bit for bit.
 */
import type { tf } from '../backend/engine.js';
import type { HostBuffers } from '../backend/kernels.js';
import { SIMD_TILE, contract, simdColumnSums as sharedColumnSums } from '../backend/simd-contract.js';
import { heapAddress, simdModule } from '../backend/wasm-simd.js';

type T = tf.TensorInfo;

/** The columns a tile of the module accumulates (four SIMD lanes of four). */
const TILE_COLS = SIMD_TILE;

/**
 * Xᵀ·Y [P, Q] for X [N, P], Y [N, Q] (Q a multiple of 16, N ≥ 1) as a new buffer, or null where
 * the SIMD module does not run (wasm-simd.ts) or Q does not fit its tiles.
 */
export function simdGrad(host: HostBuffers, x: T, y: T): T | null {
  const [N, P] = x.shape as [number, number];
  const Q = y.shape[1]!;
  // Every count the module loops over must be ≥ 1: its loops test at the end (0 would wrap).
  if (Q % TILE_COLS !== 0 || Q < TILE_COLS || P < 1 || N < 1) return null;
  const k = simdModule();
  if (!k) return null;
  const out = host.alloc([P, Q]);
  contract(k, host, [[heapAddress(x), heapAddress(y), N]], P, Q, out, null);
  return out;
}

/** Σ_rows a [Q] of a [N, Q] (the bias gradient; as {@link simdGrad} of a column of ones and a), or null where {@link simdGrad} would be. */
export function simdColumnSums(host: HostBuffers, a: T): T | null {
  const [N, Q] = a.shape as [number, number];
  const k = simdModule();
  return k && Q % TILE_COLS === 0 && Q >= TILE_COLS && N >= 1 ? sharedColumnSums(k, host, a) : null;
}

/** Whether {@link simdGrad} runs on the active backend. */
export function simdGradAvailable(): boolean {
  return simdModule() !== null;
}

/** The widest product {@link simdRows} takes: each output column is a pass over a. */
const ROWS_MAX_COLUMNS = 4;

/**
 * a·wᵀ (+ bias) [N, P] for a [N, K] and a few rows w [P, K] (P ≤ 4, K a multiple of 4) as P
 * passes of row dot products, or null where the SIMD module does not run or the shapes do not
 * fit. tfjs-wasm's product computes 8 output columns for one or two (XNNPACK's tile), ≈ 4× the
 * arithmetic; here each row's sum is four partial sums over k mod 4, added (not XNNPACK's order:
 * equal to float32 accuracy, not bit for bit).
 */
export function simdRows(host: HostBuffers, a: T, w: T, bias?: T): T | null {
  const [N, K] = a.shape as [number, number];
  const P = w.shape[0]!;
  if (P > ROWS_MAX_COLUMNS || K % 4 !== 0 || N < 1 || K < 4) return null;
  const k = simdModule();
  if (!k) return null;
  const out = host.alloc([N, P]);
  const b = bias ? host.view(bias) : null;
  const [aa, wa, oa] = [heapAddress(a), heapAddress(w), heapAddress(out)];
  for (let i = 0; i < P; i++) k.rowDot(aa, wa + 4 * i * K, oa + 4 * i, N, K / 4, 4 * K, 4 * P, b ? b[i]! : 0);
  return out;
}

/** The deepest product {@link simdOuter} takes (K): each term is a pass over the output. */
const OUTER_MAX_DEPTH = 4;

/**
 * relu(x·w + b) [N, Q] (a first hidden layer: x [N, K] narrow), or with `mask` the cotangent
 * (x·w) ⊙ [h > 0] (a hidden layer's ā from the narrow layer above it: x = ō [N, K], w = Wᵀ, h the
 * layer's output), for K ≤ 4 and Q a multiple of 16, by the SIMD module in one pass; null where it
 * does not run or the shapes do not fit. The sums are XNNPACK's (bias, then each term in order).
 */
export function simdOuter(host: HostBuffers, x: T, w: T, o: { bias: T } | { mask: T }): T | null {
  const [N, K] = x.shape as [number, number];
  const Q = w.shape[1]!;
  if (K > OUTER_MAX_DEPTH || Q % TILE_COLS !== 0 || Q < TILE_COLS || N < 1 || K < 1) return null;
  const k = simdModule();
  if (!k) return null;
  const out = host.alloc([N, Q]);
  const args = [heapAddress(x), 4 * K, K, heapAddress(w)] as const;
  if ('bias' in o) k.outerRelu(...args, heapAddress(o.bias), heapAddress(out), N, Q / TILE_COLS);
  else k.outerMask(...args, heapAddress(o.mask), heapAddress(out), N, Q / TILE_COLS);
  return out;
}
