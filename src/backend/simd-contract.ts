/**
 * Contractions over the batch rows by the SIMD128 module (wasm-simd.ts), reading tensors in place
 * on tfjs-wasm's heap: Σ over pairs of xᵀ·y, and column sums; and a cotangent through an
 * elementwise factor. What the discrete couplings' (discrete/simd-grad.ts, dense-host.ts) and
 * the CNF op's (nn/simd-weight-grads.ts, cnf-kernel.ts) backward passes share.
 */
import { tf } from './engine.js';
import type { HostBuffers } from './kernels.js';
import { heapAddress, simdModule } from './wasm-simd.js';
import type { SimdModule } from './wasm-simd.js';

type T = tf.TensorInfo;

/** The columns a tile of the module accumulates (four SIMD lanes of four). */
export const SIMD_TILE = 16;

/** Whether x is a buffer of the backend's (not a host part of one, which has no address of its own). */
export function onHeap(x: T): boolean {
  return (tf.engine().backend as unknown as { dataIdMap: { has(id: unknown): boolean } }).dataIdMap.has(x.dataId);
}

/** One contraction xᵀ·y: byte addresses of x [N, P] and y [N, Q], and N (≥ 1). */
export type Pair = readonly [number, number, number];

/**
 * out [P, Q] = Σ over the pairs (x [N, P], y [N, Q]) of xᵀ·y, P ≥ 1 and Q a positive multiple of
 * 16, the pairs' rows in order: the module's 2 × 16 tiles add into out; an odd last row takes its
 * one-row tile per pair, which writes its sum (into `scratch` [16] past the first pair, added here;
 * unused with one pair).
 */
export function contract(k: SimdModule, host: HostBuffers, pairs: readonly Pair[], P: number, Q: number, out: T, scratch: T | null): void {
  const o = heapAddress(out);
  const half = P >> 1;
  host.view(out).fill(0, 0, 2 * half * Q);
  if (half > 0) for (const [x, y, N] of pairs) k.grad(x, y, N, 4 * P, 4 * Q, o, 4 * Q, half, Q / SIMD_TILE, 4, 8);
  if (P % 2 === 0) return;
  for (let j = 0, at = (P - 1) * Q; j < Q; j += SIMD_TILE) {
    pairs.forEach(([x, y, N], i) => {
      k.tile1(x + 4 * (P - 1), y + 4 * j, N, 4 * P, 4 * Q, i === 0 ? o + 4 * (at + j) : heapAddress(scratch!), 4 * Q);
      if (i === 0) return;
      const [ov, sv] = [host.view(out), host.view(scratch!)];
      for (let c = 0; c < SIMD_TILE; c++) ov[at + j + c]! += sv[c]!;
    });
  }
}

/**
 * Σ_rows a [Q] of a [N, Q] (Q a positive multiple of 16), in float32 row by row as a product 1ᵀa
 * sums: the one-row tile over a with a stride-0 column of ones; null where the module does not run
 * or the shape does not fit its tiles.
 */
export function simdColumnSums(host: HostBuffers, a: T): T | null {
  const [N, Q] = a.shape as [number, number];
  const k = simdModule();
  // Every count the module loops over must be ≥ 1: its loops test at the end (0 would wrap).
  if (!k || Q % SIMD_TILE !== 0 || Q < SIMD_TILE || N < 1 || !onHeap(a)) return null;
  const [out, one] = [host.alloc([Q]), host.alloc([1])];
  host.view(one)[0] = 1;
  const [aa, oa, ua] = [heapAddress(a), heapAddress(out), heapAddress(one)];
  for (let j = 0; j < Q; j += SIMD_TILE) k.tile1(ua, aa + 4 * j, N, 0, 4 * Q, oa + 4 * j, 4 * Q);
  return out;
}

/**
 * ā = g ⊙ σ′ [N, q] from the cotangent g of an activation's output: relu's σ′ from its output h
 * (ā = g where h > 0, else +0 — also for a NaN or ±∞ g, as PyTorch's threshold_backward gives,
 * where the kernels' g·step(h) gives NaN), or the saved values of σ′ (a product), as one pass over the
 * buffers where the backend's kernels took two (Step, Multiply) and a buffer between; null where
 * the SIMD module does not run.
 */
export function simdCotangent(host: HostBuffers, g: T, sigma: { t: T; relu: boolean }): T | null {
  const k = simdModule();
  const n = g.shape.reduce((p, d) => p * d, 1);
  if (!k || n < 4 || !onHeap(g) || !onHeap(sigma.t)) return null;
  const out = host.alloc([...g.shape]);
  const n4 = n - (n % 4);
  (sigma.relu ? k.reluMask : k.mul)(heapAddress(g), heapAddress(sigma.t), heapAddress(out), n4);
  const [gv, tv, ov] = [host.view(g), host.view(sigma.t), host.view(out)];
  for (let i = n4; i < n; i++) ov[i] = sigma.relu ? (tv[i]! > 0 ? gv[i]! : 0) : gv[i]! * tv[i]!;
  return out;
}
