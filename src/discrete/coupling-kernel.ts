/**
 * A coupling block as one registered tfjs kernel with a closed-form backward pass: the
 * conditioner MLP (matrix products by the backend, bias and relu fused into them), the additive
 * or affine transform of x_B and its log-det (host loops, coupling-host.ts). Taped, one affine
 * coupling ran some 150 engine kernels per training iteration (the MLP, slices, tanh, exp, the
 * split and join products, and each one's gradient); here it is one engine kernel forward and a
 * dozen backend kernels for the whole backward pass.
 *
 * The kernel is registered per backend (wasm, cpu) and per number of weight layers (the gradient
 * saves the inputs by name); its outputs are y, the log-det and what the backward pass reads (the
 * conditioner's output, each hidden layer's output, and σ′ of it for activations other than relu;
 * for a narrow conditioner input, the first hidden layer is recomputed instead), so the engine's
 * tape owns the saved buffers. Second-order gradients are refused with an error
 * (the couplings' training does not take them; the taped path, `fused: false`, does).
 */
import { tf } from '../backend/engine.js';
import type { HostBuffers, KernelRunner } from '../backend/kernels.js';
import { JETS } from '../nn/layer-kernels.js';
import type { ActivationName } from '../nn/activations.js';
import { transformBackward, transformForward } from './coupling-host.js';
import { denseBackward } from './dense-host.js';
import { simdMatMul, simdOuter } from '../backend/simd-matmul.js';
import { simdGradAvailable } from './simd-grad.js';
import { registerFusedOp } from './fused-op.js';
import type { TransformSpec } from './coupling-host.js';

type T = tf.TensorInfo;

/** The kernel's attributes: the transform's, the conditioner's activation and weight layers, and whether the backward pass recomputes the first hidden layer. */
interface CouplingAttrs extends TransformSpec {
  activation: ActivationName | 'relu';
  layers: number;
  recompute: boolean;
}

/**
 * The widest conditioner input whose first hidden layer the backward pass recomputes instead of
 * saving it: a product with K ≤ 8 costs less (≈ 25 µs at [1024, 64], measured) than an [N, 64]
 * output saved for the backward pass, for which the engine also makes an array of zeros as its
 * cotangent, copied into the wasm heap (≈ 80 µs).
 */
const RECOMPUTE_MAX_INPUTS = 8;

const registered = new Set<string>();

// The form that saves every hidden layer (wide conditioner inputs) is the one with the suffix.
const kernelName = (layers: number, recompute: boolean) => `BiflowCoupling${layers}${recompute ? '' : 's'}`;
const paramNames = (layers: number) => Array.from({ length: 2 * layers }, (_, i) => `p${i}`);

/** One hidden layer from its input: h and σ′ (null for relu, whose σ′ the backward pass reads off h). */
function hidden(r: KernelRunner, host: HostBuffers, h: T, W: T, b: T, activation: CouplingAttrs['activation']): { h: T; d: T | null } {
  // A narrow input (the first layer's): relu(hW + b) in one pass of the SIMD module.
  if (activation === 'relu') return { h: simdOuter(host, h, W, { bias: b, relu: true }) ?? r.matMul(h, W, b, 'relu'), d: null };
  const j = JETS[activation].jet(r, r.matMul(h, W, b));
  return { h: j.h, d: j.d1 };
}

/** The conditioner forward from its input z: its output o and, per hidden layer, h and σ′ (none for relu). */
function mlpForward(r: KernelRunner, host: HostBuffers, z: T, params: readonly T[], activation: CouplingAttrs['activation']): { o: T; hs: T[]; ds: T[] } {
  const hs: T[] = [];
  const ds: T[] = [];
  let h = z;
  const layers = params.length / 2;
  for (let l = 0; l < layers; l++) {
    const [W, b] = [params[2 * l]!, params[2 * l + 1]!];
    // A narrow output (the affine and additive transforms' in 2-d): row dot products, where a product would compute 8 columns.
    if (l + 1 === layers) return { o: (W.shape[1]! <= 4 && simdGradAvailable() ? simdMatMul(host, h, W, b) : null) ?? r.matMul(h, W, b), hs, ds };
    const next = hidden(r, host, h, W, b, activation);
    h = next.h;
    hs.push(h);
    if (next.d) ds.push(next.d);
  }
  throw new Error('unreachable: a conditioner has at least one layer');
}

/** x̄, z̄ and the parameters' gradients (layer by layer: W, b) from ȳ and l̄. */
function backward(r: KernelRunner, host: HostBuffers, [yBar, lBar]: T[], saved: readonly T[], attrs: CouplingAttrs): T[] {
  const L = attrs.layers;
  const [x, z] = saved as [T, T];
  const params = saved.slice(2, 2 + 2 * L);
  const o = saved[2 + 2 * L]!;
  // The affine transform's s and eˢ, then the saved hidden outputs (all, or all but the first,
  // which is recomputed), then their σ′.
  const scales = attrs.transform === 'affine' ? saved[3 + 2 * L]! : undefined;
  const at = 3 + 2 * L + (scales ? 1 : 0);
  const kept = attrs.recompute ? L - 2 : L - 1;
  let hs = saved.slice(at, at + kept);
  let ds = saved.slice(at + kept);
  if (attrs.recompute) {
    const first = hidden(r, host, z, params[0]!, params[1]!, attrs.activation);
    hs = [first.h, ...hs];
    ds = first.d ? [first.d, ...ds] : ds;
  }
  const { xBar, oBar } = transformBackward(host, attrs, yBar, lBar, x, o, scales);
  const grads: T[] = [];
  // The cotangent of each layer's pre-activation, from the last layer's (ō) down; then z̄.
  let a = oBar;
  for (let l = L - 1; l >= 0; l--) {
    const below = l === 0 ? null : { t: attrs.activation === 'relu' ? hs[l - 1]! : ds[l - 1]!, relu: attrs.activation === 'relu' };
    const { gW, gb, aIn } = denseBackward(r, host, l === 0 ? z : hs[l - 1]!, a, below, params[2 * l]!);
    [grads[2 * l], grads[2 * l + 1], a] = [gW, gb, aIn];
  }
  return [xBar, a, ...grads]; // a is now z̄
}

/** Registers the kernel (wasm, cpu) and its gradient for conditioners of `layers` weight layers, once per form. */
function register(layers: number, recompute: boolean): void {
  const name = kernelName(layers, recompute);
  if (registered.has(name)) return;
  registered.add(name);
  registerFusedOp<CouplingAttrs>({
    name,
    inputs: ['x', 'z', ...paramNames(layers)],
    // o, the affine transform's scales, the saved hidden outputs and their σ′ (at most 2·layers of them).
    outputsToSave: [false, false, ...Array.from({ length: 2 * layers }, () => true)],
    forward: (r, host, inputs, attrs) => {
      const params = paramNames(attrs.layers).map((p) => inputs[p]!);
      const { o, hs, ds } = mlpForward(r, host, inputs.z!, params, attrs.activation);
      const { y, logDet, scales } = transformForward(host, attrs, inputs.x!, o);
      const first = attrs.recompute ? 1 : 0;
      return [y, logDet, o, ...(scales ? [scales] : []), ...hs.slice(first), ...ds.slice(first)];
    },
    backward,
    refusal: 'coupling: a gradient of a gradient through a fused coupling is not supported. Build the coupling with { fused: false } (the taped path) to take one.',
  });
}

/**
 * One coupling forward as a single kernel: y = x with the components `idx` transformed by the
 * conditioner's output at z (the conditioner input, [N, m]: x_A, and any context columns a caller
 * appends), and the log-det per row. `params` are the conditioner's weights and biases, layer by
 * layer (W₀, b₀, W₁, b₁, …). Call only where `fusedOpsAvailable()` (fused-op.ts).
 */
export function fusedCoupling(x: tf.Tensor2D, z: tf.Tensor2D, params: readonly tf.Tensor[], o: Omit<CouplingAttrs, 'layers' | 'recompute'>): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
  const layers = params.length / 2;
  const recompute = layers > 1 && z.shape[1] <= RECOMPUTE_MAX_INPUTS;
  register(layers, recompute);
  const inputs: Record<string, tf.Tensor> = { x, z };
  params.forEach((p, i) => (inputs[`p${i}`] = p));
  const out = tf.engine().runKernel(kernelName(layers, recompute), inputs as tf.NamedTensorMap, { ...o, layers, recompute } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  tf.dispose(out.slice(2));
  return { y: out[0] as tf.Tensor2D, logDet: out[1] as tf.Tensor1D };
}
