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
import { SIMD_TILE, contract } from '../backend/simd-contract.js';
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

/** Whether {@link simdGrad} runs on the active backend. */
export function simdGradAvailable(): boolean {
  return simdModule() !== null;
}
