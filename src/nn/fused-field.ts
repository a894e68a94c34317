/**
 * The augmented dynamics of a CNF on an {@link ODENet} as one registered op with a closed-form
 * backward pass.
 *
 * A CNF's state is one tensor `Y = [z; L; (E; F); (ε)]`, one row per component and one column per
 * sample ([width, B]: every slice and concatenation of it is contiguous). Its derivative is
 *   dz/dt = f(t, z),  dL/dt = tr ∂f/∂z,  dE/dt = ‖f‖²,  dF/dt = ‖∂f/∂z‖² (estimated),  dε/dt = 0.
 * Taping this through tfjs costs a gradient of a gradient: a VJP per evaluation for the trace and
 * the tape of that VJP for training. Here the net is written out instead (cnf-kernel.ts): the
 * forward pass carries tangents with the state, and the backward pass is its reverse mode by hand.
 *
 * The op is built the way tfjs-core extends itself: a named kernel registered per backend
 * (`registerKernel`: wasm, cpu, webgpu) returns dY/dt and what its backward pass reads; where a
 * tape records, a second registered op takes that as an input and returns the value, and its
 * registered gradient (`registerGradient`) receives it, so the engine's own tape keeps the saved
 * tensors and frees them when the tape is done (a rejected adaptive step, an output no loss used,
 * a solve that threw). Inputs rather than outputs: the engine gives every output the loss does
 * not read a zero cotangent of its size in each backward pass. One saved tensor (`inputsToSave`:
 * Y, the variables, the layers' effective weights and tangent inputs and the intermediates packed
 * end to end, {@link packLayout}), since the engine clones each saved tensor through a kernel and
 * a tape node of its own; what only host loops read is read in place in the backward pass. Where
 * a solve tapes many evaluations, the variables may enter packed in one tensor as well
 * (packed-variables.ts): one gradient per evaluation for the tape to sum, not one per variable.
 * The backward pass is a third registered kernel. Where a tape records inside another (a gradient of the gradient may be taken: a Hessian
 * through the field), the nested form saves every input one by one (`saveAllInputs`), each
 * connected to its original, and a taped gradient is taken on the taped reference at them, so
 * higher orders stay right.
 */
import { tf } from '../backend/engine.js';
import { KernelRunner } from '../backend/kernels.js';
import { InvalidArgumentError } from '../errors.js';
import { generatesLoops } from './host-loops.js';
import { LAYER_DEFS } from './layer-defs.js';
import { packFlat, unpackFlat } from '../backend/host-ops.js';
import { isNestedRecording, isRecording } from '../backend/tape.js';
import { gradsOf } from '../ode/gradients.js';
import type { ActivationName } from './activations.js';
import { augmentedWidth, dynamics, extraShapes, savedShapes, savedTable } from './cnf-kernel.js';
import type { AugmentedLayout, DynamicsAttrs } from './cnf-kernel.js';
import type { LayerKind } from './odenet.js';
import { applyLayers } from './taped-net.js';

export { augmentedWidth };
export type { AugmentedLayout };

type T = tf.TensorInfo;
type Tensor = tf.Tensor;

/**
 * The registered kernels' names: the dynamics' arithmetic (value + intermediates), the taped op
 * that hands the value and its intermediates to the tape (its gradient registered: the first-order
 * form saves one packed tensor, the nested form every input), and the closed-form backward pass.
 */
export const CNF_DYNAMICS_FORWARD = 'BiflowCNFDynamicsForward';
export const CNF_DYNAMICS = 'BiflowCNFDynamics';
export const CNF_DYNAMICS_NESTED = 'BiflowCNFDynamicsNested';
export const CNF_DYNAMICS_GRAD = 'BiflowCNFDynamicsGrad';

/** The backends the kernels are registered for (each runs them on a KernelRunner). */
const BACKENDS = ['wasm', 'cpu', 'webgpu'] as const;

type KernelArgs = { inputs: unknown; attrs: unknown };

/**
 * What the forward kernel returns besides dY/dt: nothing (no tape records), every intermediate
 * (the nested form), Y, the variables and the intermediates packed into one buffer, or Y and the
 * variables packed and the intermediates one by one (`split`: past {@link PACK_LIMIT}).
 */
type ForwardOutputs = 'value' | 'all' | 'packed' | 'split';

/** The attributes of the packed form: the forward's, and the shapes of Y and the variables. */
interface PackedAttrs extends DynamicsAttrs {
  inputShapes: number[][];
  /**
   * Whether the taped op's one variable input is the net's variables packed ({@link
   * packVariables}): its gradient is then theirs packed the same way.
   */
  packedVars?: boolean;
}

/** Runs `body` on a KernelRunner of the active backend and hands its outputs to the engine. */
export function onRunner<A>(body: (r: KernelRunner, inputs: T[], attrs: A) => T[]) {
  return ((args: KernelArgs) => {
    const r = KernelRunner.create()!;
    try {
      return body(r, Object.values(args.inputs as Record<string, T>), args.attrs as A).map((x) => r.output(x));
    } finally {
      r.free();
    }
  }) as unknown as tf.KernelFunc;
}

/**
 * The packed buffer's layout: `head`, Y's, the variables' and the weights' shapes (what the split
 * form packs); then the tangents' and the intermediates' (the packed form packs them too); and
 * which pieces only host loops read in the backward pass (parts of the buffer there, not
 * copies: Y, the variables but W_c, the scales, f and its tangents). Pure in the shapes: cached.
 */
interface PackLayout {
  head: number[][];
  tangents: number[][];
  saved: number[][];
  hostOnly: boolean[];
  size: number;
}

const packLayouts = new Map<string, PackLayout>();

function packLayout(attrs: PackedAttrs): PackLayout {
  const key = `${attrs.kind}|${attrs.activation}|${attrs.trace}|${attrs.regs}|${attrs.dim}|${attrs.context}|${attrs.layers}|${attrs.inputShapes.join(';')}`;
  let layout = packLayouts.get(key);
  if (!layout) {
    const [yShape, ...varShapes] = attrs.inputShapes;
    const per = varShapes.length / attrs.layers;
    const widths = Array.from({ length: attrs.layers }, (_, l) => varShapes[l * per]![1]!);
    const { weights, tangents } = extraShapes(attrs, varShapes, yShape![1]!);
    const head = [...attrs.inputShapes, ...weights];
    const saved = savedShapes(attrs, widths, yShape![1]!);
    // Host loops read the variables (but W_c) and the scales only where loops are generated (layerGrads).
    const loops = generatesLoops();
    const scaled = LAYER_DEFS[attrs.kind].scale !== null;
    const { iF } = savedTable(attrs);
    const hostOnly = [
      true,
      ...varShapes.map((_, i) => loops && !(attrs.context > 0 && i % per === per - 1)),
      ...weights.map((_, i) => loops && scaled && i >= attrs.layers),
      ...tangents.map(() => false),
      ...saved.map((_, i) => i === iF || i === iF + 1),
    ];
    const size = [...head, ...tangents, ...saved].reduce((n, sh) => n + tf.util.sizeFromShape(sh), 0);
    layout = { head, tangents, saved, hostOnly, size };
    packLayouts.set(key, layout);
  }
  return layout;
}

/**
 * The most floats the packed form copies (packed in the forward pass, unpacked in the backward);
 * past it the split form saves the intermediates one by one. On wasm the copies cost about 3 ns
 * a float and the engine's clone of a saved tensor (an op and a tape node) tens of microseconds,
 * so packing pays below about 250 000 floats: B ≈ 400 for a 64-64-64 net (measured for rk4 × 8:
 * packing is 20 % cheaper in CPU time than one clone per tensor at B = 100, 10 % dearer at
 * B = 1000).
 */
export const PACK_LIMIT = 1 << 18;

/** Inputs [Y, ...variables]; outputs [dY/dt] and what `outputs` asks for. */
const forwardKernel = onRunner<DynamicsAttrs & { outputs: ForwardOutputs }>((r, [y, ...vars], attrs) => {
  const { value, saved, weights, tangents } = dynamics(attrs).forward(r, y!, vars, attrs.t);
  switch (attrs.outputs) {
    case 'value':
      return [value];
    case 'all':
      return [value, ...saved];
    case 'packed':
      return [value, packFlat(r, [y!, ...vars, ...weights, ...tangents, ...saved])];
    case 'split':
      // The tangents are recomputed: as large as the intermediates, too large to copy.
      return [value, packFlat(r, [y!, ...vars, ...weights]), ...saved];
  }
});

/**
 * Inputs [dy, Y, ...variables, ...intermediates] (nested), [dy, packed] or [dy, packed head,
 * ...intermediates] (split; see {@link packLayout}); outputs [Ȳ, ...variable cotangents].
 */
const backwardKernel = onRunner<DynamicsAttrs & Partial<PackedAttrs>>((r, [dy, ...rest], attrs) => {
  if (!attrs.inputShapes) {
    const nVars = rest.length - 1 - savedTable(attrs).count;
    return dynamics(attrs).backward(r, dy!, rest[0]!, rest.slice(1, nVars + 1), rest.slice(nVars + 1), attrs.t);
  }
  const { head, tangents, saved, hostOnly } = packLayout(attrs as PackedAttrs);
  const split = rest.length > 1;
  const parts = unpackFlat(r, rest[0]!, split ? head : [...head, ...tangents, ...saved], split ? hostOnly.slice(0, head.length) : hostOnly);
  const nVars = attrs.inputShapes.length - 1;
  // The backward pass reads the intermediates, then the weights (and the tangents).
  const extrasEnd = split ? head.length : head.length + tangents.length;
  const intermediates = split ? rest.slice(1) : parts.slice(extrasEnd);
  const [yBar, ...varBars] = dynamics(attrs).backward(r, dy!, parts[0]!, parts.slice(1, nVars + 1), [...intermediates, ...parts.slice(nVars + 1, extrasEnd)], attrs.t);
  return attrs.packedVars ? [yBar!, packFlat(r, varBars)] : [yBar!, ...varBars];
});

/** Nested form: inputs [Y, ...variables, value, ...intermediates]; output the value (its buffer, shared). */
const nestedKernel = onRunner<DynamicsAttrs>((_r, inputs, attrs) => [inputs[inputs.length - savedTable(attrs).count - 1]!]);

/**
 * Packed and split forms: inputs { y, v0 … vN (or v0: the variables packed), value, packed,
 * (s0 … sM) }; output the value (its buffer, shared).
 */
const packedKernel = onRunner<PackedAttrs>((_r, inputs, attrs) => [inputs[attrs.packedVars ? 2 : attrs.inputShapes.length]!]);

for (const backendName of BACKENDS) {
  tf.registerKernel({ kernelName: CNF_DYNAMICS_FORWARD, backendName, kernelFunc: forwardKernel });
  tf.registerKernel({ kernelName: CNF_DYNAMICS, backendName, kernelFunc: packedKernel });
  tf.registerKernel({ kernelName: CNF_DYNAMICS_NESTED, backendName, kernelFunc: nestedKernel });
  tf.registerKernel({ kernelName: CNF_DYNAMICS_GRAD, backendName, kernelFunc: backwardKernel });
}

/** The cotangents of Y and the variables from the closed-form backward kernel. */
const closedForm = (dy: Tensor, inputs: Tensor[], attrs: tf.NamedAttrMap): Tensor[] => tf.engine().runKernel(CNF_DYNAMICS_GRAD, [dy, ...inputs] as unknown as tf.NamedTensorMap, attrs) as Tensor[];

/** The packed and split forms' gradient: the closed form from what they saved. */
const packedGrad: tf.GradFunc = (dys, saved, attrsMap) => {
  const dy = (Array.isArray(dys) ? dys[0] : dys)!;
  const [yBar, ...varBars] = closedForm(dy, saved, attrsMap);
  return { y: () => yBar!, ...Object.fromEntries(varBars.map((g, i) => [`v${i}`, () => g])) };
};

tf.registerGradient({
  kernelName: CNF_DYNAMICS,
  // One saved tensor: the engine clones each saved tensor through an op and a tape node of its
  // own (the nested form's ~30 per evaluation cost more than packing the buffers once).
  inputsToSave: ['packed'],
  gradFunc: packedGrad,
});

/**
 * The split form's taped op for n intermediates, registered on first use (a registered gradient
 * names the inputs it saves): it saves the packed Y and variables and each intermediate, n + 1
 * engine clones rather than the nested form's one per variable too.
 */
export function splitKernel(n: number): string {
  const kernelName = `${CNF_DYNAMICS}Split${n}`;
  if (!tf.getGradient(kernelName)) {
    for (const backendName of BACKENDS) tf.registerKernel({ kernelName, backendName, kernelFunc: packedKernel });
    tf.registerGradient({ kernelName, inputsToSave: ['packed', ...Array.from({ length: n }, (_, i) => `s${i}`)], gradFunc: packedGrad });
  }
  return kernelName;
}

tf.registerGradient({
  kernelName: CNF_DYNAMICS_NESTED,
  // Y, the variables and the intermediates, as inputs: an output the loss does not read would
  // cost the engine a zero cotangent of its size in every backward pass.
  saveAllInputs: true,
  gradFunc: (dys, saved, attrsMap) => {
    const attrs = attrsMap as unknown as DynamicsAttrs;
    const dy = (Array.isArray(dys) ? dys[0] : dys)!;
    const nVars = saved.length - 2 - savedTable(attrs).count;
    const [y, ...vars] = saved.slice(0, nVars + 1);
    let grads: Tensor[];
    if (isRecording()) {
      // A gradient of this gradient: the taped reference at the saved inputs (which the tape
      // connects back to the originals).
      const per = vars.length / attrs.layers;
      const layers = Array.from({ length: attrs.layers }, (_, l) => vars.slice(l * per, (l + 1) * per));
      const reference = (t: number, yy: Tensor) => tapedAugmented((s, z, c) => applyLayers(attrs.kind, attrs.activation, layers, s, z, c), attrs, t, yy);
      grads = gradsOf(() => tf.sum(tf.mul(reference(attrs.t, y!), dy)), [y!, ...vars]);
    } else {
      grads = closedForm(dy, [...saved.slice(0, nVars + 1), ...saved.slice(nVars + 2)], attrsMap);
    }
    return Object.fromEntries(grads.map((g, i) => [String(i), () => g]));
  },
});

/** What the closed-form op needs to know about the net. */
export interface FusedNet {
  kind: LayerKind;
  activation: ActivationName;
  /** The variables of each layer: W, b, the kind's time weights, then W_c where the net is conditioned. */
  layers: readonly (readonly Tensor[])[];
}

/** The taped fallback, used on backends without the runner's kernels: same value, differentiable to any order. */
export type AugmentedReference = (t: number, y: Tensor) => Tensor;

/**
 * Whether the op hands its intermediates to the tape packed here (a first-order tape, on a
 * backend with the runner's kernels but WebGPU): where {@link fusedAugmented} takes the
 * variables packed into one tensor.
 */
export function packsIntermediates(): boolean {
  return KernelRunner.available() && isRecording() && !isNestedRecording() && tf.getBackend() !== 'webgpu';
}

/**
 * dY/dt for the state tensor Y (layout above) at time t, as one registered op whose gradient with
 * respect to Y and the net's variables is written in closed form. `variables`, where given, is
 * the net's variables packed in their order (packed-variables.ts, made where
 * {@link packsIntermediates}): the taped op then takes it as its one variable input and returns
 * their gradients packed, so a tape of many evaluations sums one gradient per evaluation rather
 * than one per variable (an engine op each). Its value is not read: the variables are.
 */
export function fusedAugmented(net: FusedNet, layout: AugmentedLayout, t: number, y: tf.Tensor2D, reference: AugmentedReference, variables?: Tensor | null): tf.Tensor2D {
  if (!KernelRunner.available()) return reference(t, y) as tf.Tensor2D;
  const inputs = [y, ...net.layers.flat()];
  const attrs: DynamicsAttrs & { outputs: ForwardOutputs } = { dim: layout.dim, regs: layout.regs, trace: layout.trace, context: layout.context ?? 0, t, kind: net.kind, activation: net.activation, layers: net.layers.length, outputs: 'value' };
  // The arithmetic runs below the engine (a recorded op without a gradient would stop the tape);
  // where a tape records, the taped op takes the value and the intermediates as its inputs, and
  // the engine keeps them for the registered gradient until the tape is done. Only where a tape
  // records inside another (a gradient of the gradient may be taken) must they be kept one by
  // one, each connected to its original on the tape, as on WebGPU, whose engine clones of saved
  // tensors are reference counts (no dispatch) while packing costs a concatenation and a slice
  // per tensor. Else they travel packed in one buffer, and past PACK_LIMIT floats only Y and the
  // variables do (the intermediates one by one: no copies of them).
  const inputShapes = inputs.map((x) => x.shape);
  if (isRecording()) attrs.outputs = !packsIntermediates() ? 'all' : packLayout({ ...attrs, inputShapes }).size > PACK_LIMIT ? 'split' : 'packed';
  // Gradients reach packed variables only through the packed and split forms; elsewhere they
  // would silently be lost (a tape recording inside another one, where they were made at first order).
  if (variables && attrs.outputs === 'all') throw new InvalidArgumentError('ODENet.augmented', 'packed', variables.shape, 'are packed variables, which route gradients only on a first-order tape off WebGPU (where ODENet.packVariables gives them), got packed variables of shape {value} here. Pass null.');
  const { outputs } = attrs;
  const engine = tf.engine() as unknown as { backend: unknown; makeTensorFromTensorInfo(x: T): Tensor };
  const kernel = tf.getKernel(CNF_DYNAMICS_FORWARD, tf.getBackend())!;
  const infos = kernel.kernelFunc({ inputs: inputs as unknown as tf.NamedTensorInfoMap, attrs: attrs as unknown as tf.NamedAttrMap, backend: engine.backend as tf.KernelBackend }) as T[];
  const outs = infos.map((x) => engine.makeTensorFromTensorInfo(x));
  if (outputs === 'value') return outs[0] as tf.Tensor2D;
  let value: Tensor;
  if (outputs !== 'all') {
    const separate = outs.slice(2);
    const vars = variables ? [variables] : inputs.slice(1);
    const named = { y, ...Object.fromEntries(vars.map((v, i) => [`v${i}`, v])), value: outs[0]!, packed: outs[1]!, ...Object.fromEntries(separate.map((x, i) => [`s${i}`, x])) };
    const packedAttrs: PackedAttrs = { ...attrs, inputShapes, packedVars: !!variables };
    [value] = tf.engine().runKernel(separate.length ? splitKernel(separate.length) : CNF_DYNAMICS, named as unknown as tf.NamedTensorMap, packedAttrs as unknown as tf.NamedAttrMap) as Tensor[];
  } else {
    [value] = tf.engine().runKernel(CNF_DYNAMICS_NESTED, [...inputs, ...outs] as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as Tensor[];
  }
  tf.dispose(outs);
  return value as tf.Tensor2D;
}

/**
 * The same dY/dt on the tfjs tape: f from the net, the trace from vector–Jacobian products
 * (Hutchinson: εᵀ(∂f/∂z)ε; exact: D stacked copies of the batch, copy k probed with e_k),
 * ‖∂f/∂z·ε‖² through a VJP of a VJP. Slow, differentiable to any order: the reference of the
 * closed form, and its backward pass where gradients of gradients are taken.
 */
export function tapedAugmented(apply: (t: number, z: Tensor, c: Tensor | null) => Tensor, layout: AugmentedLayout, t: number, y: Tensor): tf.Tensor2D {
  const { dim: D, regs, trace, context: C = 0 } = layout;
  const hutch = trace === 'hutchinson';
  const width = augmentedWidth(layout);
  return tf.tidy(() => {
    const B = y.shape[1]!;
    const z = tf.transpose(tf.slice(y, [0, 0], [D, B]));
    const c = C > 0 ? tf.transpose(tf.slice(y, [width - C, 0], [C, B])) : null;
    let f: Tensor | null = null;
    const cols: Tensor[] = [];
    let jac: Tensor | null = null;
    if (hutch) {
      const probe = tf.transpose(tf.slice(y, [width - C - D, 0], [D, B]));
      const vjp = tf.grad((zz: Tensor) => {
        f = tf.keep(apply(t, zz, c));
        return tf.sum(tf.mul(f, probe));
      })(z);
      cols.push(f!, tf.sum(tf.mul(vjp, probe), 1, true));
      if (regs) {
        // J·ε = ∂/∂v ⟨vᵀJ, ε⟩, a VJP of a VJP.
        const jvp = tf.grad((v: Tensor) => tf.sum(tf.mul(tf.grad((zz: Tensor) => tf.sum(tf.mul(apply(t, zz, c), v)))(z), probe)))(tf.zerosLike(z));
        jac = tf.sum(tf.square(jvp), 1, true);
      }
    } else {
      const rows = tf.tile(z, [D, 1]);
      const cRows = c ? tf.tile(c, [D, 1]) : null;
      const E = tf.reshape(tf.tile(tf.reshape(tf.eye(D), [D, 1, D]), [1, B, 1]), [D * B, D]);
      const g = tf.grad((zz: Tensor) => {
        const fr = apply(t, zz, cRows);
        f = tf.keep(tf.slice(fr, [0, 0], [B, D]));
        return tf.sum(tf.mul(fr, E));
      })(rows);
      cols.push(f!, tf.reshape(tf.sum(tf.reshape(tf.sum(tf.mul(g, E), 1), [D, B]), 0), [B, 1]));
      // Σₖ ‖e_kᵀ J‖² = ‖J‖²_F = Σₖ ‖J e_k‖².
      if (regs) jac = tf.reshape(tf.sum(tf.reshape(tf.sum(tf.square(g), 1), [D, B]), 0), [B, 1]);
    }
    if (regs) cols.push(tf.sum(tf.square(f!), 1, true), jac!);
    if (hutch || C > 0) cols.push(tf.zeros([B, (hutch ? D : 0) + C]));
    const out = tf.transpose(tf.concat(cols, 1)) as tf.Tensor2D;
    f!.dispose(); // kept out of the gradient's scope above
    return out;
  });
}
