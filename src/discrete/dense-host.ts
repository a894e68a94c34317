/**
 * The backward pass of one dense layer of a fused coupling's conditioner, layer by layer from the
 * output: from the layer's input h [N, p], its weight W [p, q] and the cotangent of its output,
 * given as `raw` [N, q] (the cotangent of the activation's output, or of the pre-activation for
 * the last layer) and σ′ of the activation (`sigma`; none for the last layer), it gives the
 * gradients of W and of the bias and the cotangent rawᵢₙ = a·Wᵀ of h, where a = raw ⊙ σ′.
 *
 * On tfjs-wasm what costs besides the products is moving [N, 64] arrays: XNNPACK packs the right
 * operand of every product anew when the tensor is new (its operator is cached on the right
 * tensor; every operand here is new), ≈ 0.3 ms for an [N, 64] operand at N = 1024, about as
 * much as the product; a transpose of one takes ≈ 0.1 ms by the blocked kernel (host-ops'
 * blockTranspose), 0.2–0.3 ms by a host loop or the 2-d kernel; a host loop over one, even a
 * mask, 4–6× as long as the backend's SIMD kernels (all measured). So the products are arranged
 * to pack the narrow operands, the hidden layer's ā being the one [N, 64] operand packed.
 */
import { blockTranspose, hostOnesColumn, hostSplitRows, hostTranspose } from '../backend/host-ops.js';
import type { HostBuffers, KernelRunner } from '../backend/kernels.js';
import type { tf } from '../backend/engine.js';

type T = tf.TensorInfo;

/** σ′ of a layer's activation: relu's from its output h (1 where h > 0), or the saved values of σ′. */
export interface Sigma {
  t: T;
  relu: boolean;
}

/** What {@link denseBackward} gives: the weight and bias gradients and the cotangent of the layer's input. */
export interface DenseGrads {
  gW: T;
  gb: T;
  rawIn: T;
}

/** One layer's backward pass (see the file's comment). */
export function denseBackward(r: KernelRunner, host: HostBuffers, h: T, raw: T, sigma: Sigma | null, W: T): DenseGrads {
  // σ′ by the backend's kernels: SIMD, where a host loop over [N, 64] took 4–6× as long (measured).
  const a = sigma ? r.mul(raw, sigma.relu ? r.step(sigma.t) : sigma.t) : raw;
  const [gW, gb] = layerGrads(r, host, h, a);
  return { gW, gb, rawIn: r.matMul(a, hostTranspose(host, W)) };
}

/**
 * hᵀā [p, q] and Σ_rows ā [q], the narrower of h and ā on the right (XNNPACK packs that one), the
 * wider one transposed by blockTranspose (tfjs-wasm's transposed products are not vectorised).
 * With h narrower (the input layer), a column of ones on h brings the bias gradient along; else
 * it is a second product 1ᵀā with the same right operand, whose packed copy tfjs-wasm keeps on ā
 * (≈ 10 µs at N = 1024, where a row of ones appended to hᵀ cost a copy of it, ≈ 100 µs).
 */
export function layerGrads(r: KernelRunner, host: HostBuffers, h: T, a: T): [T, T] {
  const [N, p, q] = [h.shape[0]!, h.shape[1]!, a.shape[1]!];
  if (p + 1 < q) {
    // h narrower: āᵀ·[h, 1] = [āᵀh, āᵀ1], [q, p + 1], transposed back.
    return hostSplitRows(host, hostTranspose(host, r.matMul(blockTranspose(r, a), hostOnesColumn(host, h))), p);
  }
  const gW = r.matMul(blockTranspose(r, h), a);
  return [gW, r.reshape(r.matMul(r.constant(new Float32Array(N).fill(1), [1, N]), a), [q])];
}
