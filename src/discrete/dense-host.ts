/**
 * The backward pass of one dense layer of a fused coupling's conditioner, layer by layer from the
 * output: from the layer's input h [N, p], its weight W [p, q] and the cotangent ā [N, q] of its
 * pre-activation, it gives the gradients of W and of the bias and the cotangent āᵢₙ of the layer
 * below's pre-activation: (ā·Wᵀ) ⊙ σ′ with σ′ that layer's (`below`), or z̄ = ā·Wᵀ for the input
 * layer (`below` null).
 *
 * On tfjs-wasm what costs besides the products is moving [N, 64] arrays: XNNPACK packs the right
 * operand of every product anew when the tensor is new (its operator is cached on the right
 * tensor; every operand here is new), ≈ 0.3 ms for an [N, 64] operand at N = 1024, about as
 * much as the product; a transpose of one takes ≈ 0.1 ms by the blocked kernel (host-ops'
 * blockTranspose), 0.2–0.3 ms by a host loop or the 2-d kernel; a host loop over one, even a
 * mask, 4–6× as long as the backend's SIMD kernels (all measured). So on wasm the weight
 * gradients, σ′ and the narrow products are the SIMD module's (simd-grad.ts), which reads the
 * buffers in place; elsewhere the products are arranged to pack the narrow operands.
 */
import { blockTranspose, hostColumnSums, hostOnesColumn, hostSplitRows, hostTranspose } from '../backend/host-ops.js';
import type { HostBuffers, KernelRunner } from '../backend/kernels.js';
import type { tf } from '../backend/engine.js';
import { simdColumnSums, simdCotangent } from '../backend/simd-contract.js';
import { simdOuter, simdRows } from '../backend/simd-matmul.js';
import { simdGrad, simdGradAvailable } from './simd-grad.js';

type T = tf.TensorInfo;

/** σ′ of a layer's activation: relu's from its output h (1 where h > 0), or the saved values of σ′. */
export interface Sigma {
  t: T;
  relu: boolean;
}

/** What {@link denseBackward} gives: the weight and bias gradients and the cotangent of the layer below's pre-activation (z̄ for the input layer). */
export interface DenseGrads {
  gW: T;
  gb: T;
  aIn: T;
}

/** One layer's backward pass (see the file's comment). */
export function denseBackward(r: KernelRunner, host: HostBuffers, h: T, a: T, below: Sigma | null, W: T): DenseGrads {
  const [gW, gb] = layerGrads(r, host, h, a);
  return { gW, gb, aIn: inputCotangent(r, host, a, W, below) };
}

/** (ā·Wᵀ) ⊙ σ′, or ā·Wᵀ without σ′. */
function inputCotangent(r: KernelRunner, host: HostBuffers, a: T, W: T, below: Sigma | null): T {
  // A narrow ā (the output layer's): the product and relu's mask in one pass of the SIMD module.
  const fused = below?.relu && a.shape[1]! <= 4 && simdGradAvailable() ? simdOuter(host, a, hostTranspose(host, W), { mask: below.t }) : null;
  if (fused) return fused;
  // A narrow layer input (the input layer's): row dot products, where a product would compute 8 columns.
  const raw = simdRows(host, a, W) ?? r.matMul(a, hostTranspose(host, W));
  // σ′ by the SIMD module in one pass, else by the backend's kernels: SIMD, where a host loop over
  // [N, 64] took 4–6× as long (measured).
  return below ? (simdCotangent(host, raw, below) ?? r.mul(raw, below.relu ? r.step(below.t) : below.t)) : raw;
}

/**
 * hᵀā [p, q] and Σ_rows ā [q]. On tfjs-wasm by simd-grad.ts's kernel, which reads both in place,
 * where a product packs its right operand and needs the left transposed (≈ 0.45 ms of the
 * ≈ 0.85 ms of hᵀā at [1024, 64] each, measured): hᵀā directly when ā's width is a multiple of
 * 16, else (āᵀh)ᵀ when h's is (the output layer: ā [N, 2]). Elsewhere by products: the narrower of
 * h and ā on the right (XNNPACK packs that one), the wider one transposed by blockTranspose
 * (tfjs-wasm's transposed products are not vectorised); with h narrower (the input layer) a
 * column of ones on h brings the bias gradient along, else a second product 1ᵀā with the same
 * right operand, whose packed copy tfjs-wasm keeps on ā (≈ 10 µs at N = 1024).
 */
export function layerGrads(r: KernelRunner, host: HostBuffers, h: T, a: T): [T, T] {
  const [N, p, q] = [h.shape[0]!, h.shape[1]!, a.shape[1]!];
  // A narrow h (the input layer) takes its column of ones along: one pass over ā instead of two.
  const gWb = p < 4 && q % 16 === 0 && simdGradAvailable() ? simdGrad(host, hostOnesColumn(host, h), a) : null;
  if (gWb) return hostSplitRows(host, gWb, p);
  const gW = simdGrad(host, h, a);
  if (gW) return [gW, simdColumnSums(host, a)!];
  const gWt = simdGrad(host, a, h);
  if (gWt) return [hostTranspose(host, gWt), hostColumnSums(host, a)];
  if (p + 1 < q) {
    // h narrower: āᵀ·[h, 1] = [āᵀh, āᵀ1], [q, p + 1], transposed back.
    return hostSplitRows(host, hostTranspose(host, r.matMul(blockTranspose(r, a), hostOnesColumn(host, h))), p);
  }
  return [r.matMul(blockTranspose(r, h), a), r.reshape(r.matMul(r.constant(new Float32Array(N).fill(1), [1, N]), a), [q])];
}
