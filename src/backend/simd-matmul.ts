/**
 * Products x·w (+ bias) of row-major matrices on tfjs-wasm's heap by the SIMD128 module
 * (wasm-simd.ts), read in place: the products of a layer whose weights are new at every call (an
 * ODE net's effective weights W⊙S(t), made anew at every evaluation, and their transposes).
 *
 * Why not tfjs-wasm's product: for [1000, 64]·[64, 64] XNNPACK's microkernels run at about
 * 17 GFLOP/s here (0.49 ms a call, measured in the CNF op), and a new right operand is packed
 * first; the module's 2 × 16 tiles (`grad` with x's rows as the tile's rows) read w in place and
 * run at about 25. For a narrow w (a layer with D ≤ 4 outputs, where XNNPACK computes 8 columns
 * for 2) each output column is one pass of row dot products (`rowDot`).
 *
 * Order of the sums: wide, each output starts from its bias and adds x[k]·w[k] in order of k (as
 * XNNPACK's microkernels do: the same floats), except an odd last row, whose sum is the one-row
 * tile's from zero and then has its bias added; for K ≤ 4 outer products in the same order (one
 * pass, `outerLinear`, also XNNPACK's floats); narrow, four partial sums over k mod 4 then added, plus the bias. Equal
 * to float32 accuracy in every case.
 */
import { tf } from './engine.js';
import type { HostBuffers } from './kernels.js';
import { hostTranspose } from './host-ops.js';
import { SIMD_TILE, onHeap } from './simd-contract.js';
import { heapAddress, simdModule } from './wasm-simd.js';

type T = tf.TensorInfo;

/** The widest w that runs as row dot products (each output column is a pass over x). */
const NARROW = 4;
/** The deepest product that runs as outer products (each term a pass over the output). */
const OUTER_DEPTH = 4;

/**
 * x·w (+ bias) [N, Q] for x [N, K], w [K, Q] and bias [Q], as a new buffer, or null where the
 * module does not run, a buffer is not on the heap, or the shapes fit neither form: Q a multiple
 * of 16 (wide), or Q ≤ 4 with K a multiple of 4 (narrow).
 */
export function simdMatMul(host: HostBuffers, x: T, w: T, bias?: T): T | null {
  const [N, K] = x.shape as [number, number];
  const Q = w.shape[1]!;
  const wide = Q % SIMD_TILE === 0;
  // Every count the module loops over must be ≥ 1: its loops test at the end (0 would wrap).
  if (N < 1 || K < 1 || Q < 1 || (!wide && (Q > NARROW || K % 4 !== 0))) return null;
  // The module writes where the shapes say: a w or bias that does not match would be read past its end.
  if (w.shape.length !== 2 || w.shape[0] !== K || (bias && tf.util.sizeFromShape(bias.shape) !== Q)) return null;
  const k = simdModule();
  if (!k || !onHeap(x) || !onHeap(w) || (bias && !onHeap(bias))) return null;
  // Each output column j is row dot products with w's column j, made a row (wᵀ).
  if (!wide) return simdRows(host, x, hostTranspose(host, w), bias);
  if (K <= OUTER_DEPTH) {
    // A few terms: each output row is bias + x[0]·w[0] + … in one pass (no accumulators to load).
    let b = bias;
    if (!b) host.view((b = host.alloc([Q]))).fill(0);
    return simdOuter(host, x, w, { bias: b, relu: false });
  }
  const out = host.alloc([N, Q]);
  const o = host.view(out);
  const half = N >> 1;
  if (bias) {
    const b = host.view(bias);
    for (let r = 0; r < 2 * half; r++) o.set(b, r * Q);
  } else o.fill(0, 0, 2 * half * Q);
  const [xa, wa, oa] = [heapAddress(x), heapAddress(w), heapAddress(out)];
  if (half > 0) k.grad(xa, wa, K, 4, 4 * Q, oa, 4 * Q, half, Q / SIMD_TILE, 4 * K, 8 * K);
  if (N % 2 === 0) return out;
  const last = (N - 1) * Q;
  for (let j = 0; j < Q; j += SIMD_TILE) k.tile1(xa + 4 * (N - 1) * K, wa + 4 * j, K, 4, 4 * Q, oa + 4 * (last + j), 4 * Q);
  if (bias) {
    const [ov, b] = [host.view(out), host.view(bias)];
    for (let j = 0; j < Q; j++) ov[last + j]! += b[j]!;
  }
  return out;
}

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
  if (P > NARROW || P < 1 || K % 4 !== 0 || N < 1 || K < 4 || w.shape[1] !== K || (bias && tf.util.sizeFromShape(bias.shape) !== P)) return null;
  const k = simdModule();
  if (!k || !onHeap(a) || !onHeap(w)) return null;
  const out = host.alloc([N, P]);
  const b = bias ? host.view(bias) : null;
  const [aa, wa, oa] = [heapAddress(a), heapAddress(w), heapAddress(out)];
  for (let i = 0; i < P; i++) k.rowDot(aa, wa + 4 * i * K, oa + 4 * i, N, K / 4, 4 * K, 4 * P, b ? b[i]! : 0);
  return out;
}

/**
 * x·w + b [N, Q] for a narrow x [N, K] (K ≤ 4, Q a multiple of 16) in one pass of outer products,
 * the sums XNNPACK's (bias, then each term in order): linear, or relu(x·w + b) (a first hidden
 * layer); or with `mask` the cotangent (x·w) ⊙ [h > 0] (a hidden layer's ā from the narrow layer
 * above it: x = ō, w = Wᵀ, h the layer's output). Null where the module does not run or the
 * shapes do not fit.
 */
export function simdOuter(host: HostBuffers, x: T, w: T, o: { bias: T; relu: boolean } | { mask: T }): T | null {
  const [N, K] = x.shape as [number, number];
  const Q = w.shape[1]!;
  if (K > OUTER_DEPTH || Q % SIMD_TILE !== 0 || Q < SIMD_TILE || N < 1 || K < 1 || w.shape[0] !== K) return null;
  const k = simdModule();
  const by = 'bias' in o ? o.bias : o.mask;
  if (!k || !onHeap(x) || !onHeap(w) || !onHeap(by)) return null;
  const out = host.alloc([N, Q]);
  const args = [heapAddress(x), 4 * K, K, heapAddress(w), heapAddress(by), heapAddress(out), N, Q / SIMD_TILE] as const;
  if (!('bias' in o)) k.outerMask(...args);
  else if (o.relu) k.outerRelu(...args);
  else k.outerLinear(...args);
  return out;
}
