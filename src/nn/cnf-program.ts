/**
 * The fused CNF dynamics (cnf-kernel.ts) on WebGPU as a handful of WGSL programs per evaluation:
 *   forward:  one program per layer (layer-program.ts: product, time gate, activation and every
 *             tangent block, packed in one output), the first reading z and the probe in place
 *             from the state Y, then one read-out program writing dY/dt = [fᵀ; tr; (‖f‖², ‖J‖²); 0];
 *   backward: one seeding program (f̄ + 2Ē f, ε·tr̄ + 2F̄ Jε); per layer one program for the
 *             cotangents through the layer and the activation below it that also makes the weight
 *             gradients' partial sums over row chunks (layer-program.ts), and one that sums the
 *             chunks and maps them to every variable's gradient, printed from the kind's derivatives
 *             into one packed output that buffer copies split (layer-grad-program.ts); then one
 *             program writing Ȳ = [z̄ᵀ; 0; (ε̄ᵀ); (c̄ᵀ)].
 * So L layers are L + 1 dispatches forward and 2L + 2 backward, at any batch size: dim 2, 3 × 64
 * hidden, 5 and 10 (value + gradient of a weighted sum 16 on lavapipe, 36 before at B = 100, 41 at
 * B = 10 000); a conditioned layer adds a concat forward and three dispatches backward (W̄_c, c̄).
 * The saved intermediates are the layers' packs: every saved slot of a layer holds (a reference to)
 * its one pack, whose parts the backward programs read at their row offsets.
 */
import { tf } from '../backend/engine.js';
import { MAX_WORKGROUPS_PER_DIMENSION } from '../backend/kernels.js';
import type { KernelRunner } from '../backend/kernels.js';
import { FLAT_WORKGROUP, FlatProgram } from '../backend/webgpu-elementwise.js';
import type { ActivationName } from './activations.js';
import { ACTIVATION_DEFS } from './activation-defs.js';
import { runLayerVarGrads } from './layer-grad-program.js';
import type { GpuLayerVars } from './layer-program.js';
import { layerProgramsFit, layerSpec, packInput, runLayerBackward, runLayerForward, stateInput } from './layer-program.js';
import type { LayerKind } from './odenet.js';

type T = tf.TensorInfo;

/** The dynamics' structure as the WebGPU path reads it (cnf-kernel.ts's layout and saved table). */
export interface GpuDynamics {
  D: number;
  K: number;
  regs: boolean;
  hutch: boolean;
  C: number;
  width: number;
  probeRow: number;
  constRow: number;
  t: number;
  kind: LayerKind;
  activation: ActivationName;
  /** Per layer, the saved slots (−1: none) of σ′, ȧ, a and h; the last layer's f and tangents at iF, iF + 1. */
  at: readonly { d1: number; ad: number; a: number; h: number }[];
  iF: number;
  count: number;
}

const uB = (B: number) => [{ type: 'int32', data: [B] }];

/**
 * Whether the programs' dispatches fit a batch of B rows: the tiled grids, and the flat ones that
 * the runner dispatches only within the per-dimension limit (else null: the kernel path instead).
 */
function fits(r: KernelRunner, g: GpuDynamics, B: number): boolean {
  const flatThreads = Math.max((1 + g.K) * B * g.D, g.width * B);
  return layerProgramsFit(r, B) && Math.ceil(flatThreads / FLAT_WORKGROUP) <= MAX_WORKGROUPS_PER_DIMENSION;
}

/** One flat program over `threads` invocations with the uniform B (a read-out, a seed, a state cotangent). */
function flat(r: KernelRunner, names: string[], inputs: T[], shape: number[], threads: number, body: string, B: number): T {
  return r.program(new FlatProgram(names, shape, threads, body, 'B : i32,'), inputs, [{ type: 'int32', data: [threads] }, ...uB(B)])!;
}

/**
 * c̄ + ā·W_cᵀ ([B, C]; c̄ null: none yet) with ā the first B rows of G ([·, n]): one program, where a
 * transpose, a product and a sum were three (n a uniform: a loop of constant trip count is unrolled).
 */
function contextBar(r: KernelRunner, G: T, Wc: T, cBar: T | null, B: number, n: number, C: number): T {
  const body = `let b = index / ${C};
          let c = index % ${C};
          var v = ${cBar ? 'Cb[index]' : '0.0'};
          for (var j = 0; j < uniforms.n; j = j + 1) { v = v + G[b * uniforms.n + j] * Wc[c * uniforms.n + j]; }
          setOutputAtIndex(index, v);`;
  const program = new FlatProgram(['G', 'Wc', ...(cBar ? ['Cb'] : [])], [B, C], B * C, body, 'n : i32,');
  return r.program(program, [G, Wc, ...(cBar ? [cBar] : [])], [{ type: 'int32', data: [B * C] }, { type: 'int32', data: [n] }])!;
}

/** dY/dt and the saved packs, or null where the backend runs no WGSL or the batch is too large for one dispatch. */
export function gpuForward(r: KernelRunner, g: GpuDynamics, Y: T, layers: readonly GpuLayerVars[]): { value: T; saved: T[] } | null {
  const B = Y.shape[1]!;
  if (!fits(r, g, B)) return null;
  const { D, K, hutch } = g;
  const needsA = ACTIVATION_DEFS[g.activation].needsInput;
  const saved = new Array<T>(g.count);
  let lhs = Y;
  let at = stateInput(B, g.probeRow);
  layers.forEach((v, l) => {
    const s = layerSpec(g.kind, g.activation, K, v.p);
    const last = l + 1 === layers.length;
    const pack = runLayerForward(r, s, v, g.t, B, lhs, at, { last, needsA, unit: l === 0 && !hutch, Y, cOff: (g.width - g.C) * B });
    const e = g.at[l]!;
    for (const slot of last ? [g.iF, g.iF + 1] : [e.d1, e.ad, e.a, e.h]) if (slot >= 0) saved[slot] = pack;
    [lhs, at] = [pack, packInput(B, s.n, K, needsA)];
  });
  // Per sample: f, tr = ⟨ε, Jε⟩ or Σₖ (J e_k)_k, ‖f‖², ‖J·‖², then zeros for the constant rows.
  const div = hutch ? `div = div + Y[(${g.probeRow} + d) * B + b] * u;` : 'if (k == d) { div = div + u; }';
  const body = `let B = uniforms.B;
          let b = index;
          var div = 0.0;
          var kin = 0.0;
          var jac = 0.0;
          for (var d = 0; d < ${D}; d = d + 1) { let f = Q[b * ${D} + d]; setOutputAtIndex(d * B + b, f); kin = kin + f * f; }
          for (var k = 0; k < ${K}; k = k + 1) {
            for (var d = 0; d < ${D}; d = d + 1) { let u = Q[((1 + k) * B + b) * ${D} + d]; ${div} jac = jac + u * u; }
          }
          setOutputAtIndex(${D} * B + b, div);
          ${g.regs ? `setOutputAtIndex(${D + 1} * B + b, kin);\n          setOutputAtIndex(${D + 2} * B + b, jac);` : ''}
          for (var w = ${g.constRow}; w < ${g.width}; w = w + 1) { setOutputAtIndex(w * B + b, 0.0); }`;
  const value = flat(r, ['Q', ...(hutch ? ['Y'] : [])], [lhs, ...(hutch ? [Y] : [])], [g.width, B], B, body, B);
  return { value, saved };
}

/** The cotangents of Y and of the variables (their order), or null where {@link gpuForward} was null. */
export function gpuBackward(r: KernelRunner, g: GpuDynamics, dy: T, Y: T, layers: readonly GpuLayerVars[], s: readonly T[]): T[] | null {
  const B = Y.shape[1]!;
  if (!fits(r, g, B)) return null;
  const { D, K, hutch, regs, C } = g;
  const needsA = ACTIVATION_DEFS[g.activation].needsInput;
  const Q = s[g.iF]!;
  // G = [ā | ǡ] of the last layer from dy: f̄ + 2Ē f and (ε or e_k)·tr̄ + 2F̄ Jε.
  const seedBody = `let B = uniforms.B;
          let row = index / ${D};
          let d = index % ${D};
          var v = 0.0;
          if (row < B) {
            v = dy[d * B + row]${regs ? ` + 2.0 * dy[${D + 1} * B + row] * Q[index]` : ''};
          } else {
            let b = (row - B) % B;
            let dDiv = dy[${D} * B + b];
            v = ${hutch ? `Y[(${g.probeRow} + d) * B + b] * dDiv` : `select(0.0, dDiv, (row - B) / B == d)`}${regs ? ` + 2.0 * dy[${D + 2} * B + b] * Q[index]` : ''};
          }
          setOutputAtIndex(index, v);`;
  const seedNames = ['dy', ...(regs ? ['Q'] : []), ...(hutch ? ['Y'] : [])];
  let G = flat(r, seedNames, [dy, ...(regs ? [Q] : []), ...(hutch ? [Y] : [])], [(1 + K) * B, D], (1 + K) * B * D, seedBody, B);
  const cT = C > 0 ? r.slice(Y, [g.width - C, 0], [C, B]) : null;
  let cBar: T | null = null;
  const grads: T[][] = [];
  for (let l = layers.length - 1; l >= 0; l--) {
    const v = layers[l]!;
    const spec = layerSpec(g.kind, g.activation, K, v.p);
    const below = l > 0 ? s[g.at[l - 1]!.h]! : null;
    const at = below ? packInput(B, below.shape[1]!, K, needsA) : stateInput(B, g.probeRow);
    const o = { below: below !== null, needsA, blocksOut: below ? K : hutch ? 1 : 0, unit: l === 0 && !hutch };
    const { out, rOff, chunks } = runLayerBackward(r, spec, v, g.t, B, G, below ?? Y, at, o);
    grads[l] = runLayerVarGrads(r, spec, v.p, g.t, out, chunks, rOff);
    if (v.Wc) {
      // The context's share (conditioned nets): W̄_c = cᵀ·ā on the backend's kernels, c̄ += ā·W_cᵀ by one program.
      const aBar = r.reshape(r.slice(r.reshape(G, [tf.util.sizeFromShape(G.shape)]), [0], [B * spec.n]), [B, spec.n]);
      grads[l]!.push(r.matMul(cT!, aBar));
      cBar = contextBar(r, G, v.Wc, cBar, B, spec.n, C);
    }
    G = out;
  }
  // Ȳ: z̄ᵀ, zeros, (ε̄ᵀ = tr̄·Jε + the tangent chain's ū₀), (c̄ᵀ).
  const cRow = g.width - C;
  const stateBody = `let B = uniforms.B;
          let w = index / B;
          let b = index % B;
          var v = 0.0;
          if (w < ${D}) { v = G[b * ${D} + w]; }
          ${hutch ? `if (w >= ${g.probeRow} && w < ${g.probeRow + D}) { let d = w - ${g.probeRow}; v = Q[(B + b) * ${D} + d] * dy[${D} * B + b] + G[(B + b) * ${D} + d]; }` : ''}
          ${C > 0 ? `if (w >= ${cRow}) { v = Cb[b * ${C} + w - ${cRow}]; }` : ''}
          setOutputAtIndex(index, v);`;
  const names = ['G', ...(hutch ? ['Q', 'dy'] : []), ...(C > 0 ? ['Cb'] : [])];
  const yBar = flat(r, names, [G, ...(hutch ? [Q, dy] : []), ...(cBar ? [cBar] : [])], [g.width, B], g.width * B, stateBody, B);
  return [yBar, ...grads.flat()];
}
