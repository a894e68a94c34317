/**
 * A net's variables as one taped tensor, for the fused CNF op (fused-field.ts). Every evaluation
 * of the op on a tape returns a gradient for each of its inputs, and the tape sums each input's
 * gradients over the evaluations with an engine op per input and evaluation: for rk4 × 8 (32
 * evaluations) and a 4-layer concatsquash net, 640 additions per training iteration. Packed, the
 * op's variable input is one tensor: one addition per evaluation, and one unpacking at the end.
 * Its gradient is the packed gradient split back into the variables' shapes.
 */
import { tf } from '../backend/engine.js';
import { packFlat, unpackFlat } from '../backend/host-ops.js';
import { onRunner, packsIntermediates } from './fused-field.js';

/** The registered kernels: the variables laid end to end, and the packed gradient split back. */
export const PACK_VARIABLES = 'BiflowPackVariables';
export const UNPACK_VARIABLES = 'BiflowUnpackVariables';

interface ShapesAttr {
  shapes: number[][];
}

for (const backendName of ['wasm', 'cpu', 'webgpu']) {
  tf.registerKernel({ kernelName: PACK_VARIABLES, backendName, kernelFunc: onRunner((r, inputs) => [packFlat(r, inputs)]) });
  tf.registerKernel({ kernelName: UNPACK_VARIABLES, backendName, kernelFunc: onRunner<ShapesAttr>((r, [x], { shapes }) => unpackFlat(r, x!, shapes)) });
}

tf.registerGradient({
  kernelName: PACK_VARIABLES,
  gradFunc: (dy, _saved, attrs) => {
    const parts = tf.engine().runKernel(UNPACK_VARIABLES, { x: Array.isArray(dy) ? dy[0]! : dy }, attrs) as tf.Tensor[];
    return Object.fromEntries(parts.map((g, i) => [String(i), () => g]));
  },
});

/**
 * The variables packed in their order, as a taped op whose gradient flows back to each: the
 * `variables` argument of the fused CNF op where it packs its intermediates (a first-order tape,
 * not WebGPU), else null (the op then takes the variables one by one).
 */
export function packVariables(variables: readonly tf.Tensor[]): tf.Tensor1D | null {
  if (!packsIntermediates()) return null;
  const shapes = variables.map((v) => v.shape);
  // The kernel returns a list (onRunner), so the engine does too.
  const [packed] = tf.engine().runKernel(PACK_VARIABLES, variables as unknown as tf.NamedTensorMap, { shapes } as unknown as tf.NamedAttrMap) as tf.Tensor1D[];
  return packed!;
}
