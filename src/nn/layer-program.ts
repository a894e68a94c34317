/**
 * One WebGPU program per quantity of an ODE-net layer, printed from the layer kind's and the
 * activation's one definition (layer-defs.ts, activation-defs.ts) through `WGSL_ARITH`:
 *   value:    a = (h·W)⊙S(t) + Sh(t) (+ c·W_c),  then h' = σ(a) or σ′(a),
 *   tangents: ȧ = (u·W)⊙S(t),                     then u' = ȧ ⊙ σ′ (σ′ repeated over the K blocks),
 * each a tiled product in workgroup memory with the time gate, the shift, the context and the
 * activation in its epilogue — one dispatch per quantity. Where the layer ran as tfjs kernels (an
 * effective-weights product W⊙S, the gate's vectors, the product, the bias, each activation
 * quantity, the tangent product and its scaling), a hidden layer took about eight dispatches;
 * here it takes four (five where σ″ reads a). tfjs-backend-webgpu's programs have one output,
 * so a quantity that two outputs share (a, ȧ) is recomputed in each: the products are narrow
 * ([B, ≤ 64]·[≤ 64, 64]) and a dispatch costs more than the repeated multiply-adds.
 */
import type { tf } from '../backend/engine.js';
import { MAX_WORKGROUPS_PER_DIMENSION } from '../backend/kernels.js';
import type { KernelRunner } from '../backend/kernels.js';
import { ElementwiseProgram } from '../backend/webgpu-elementwise.js';
import type { ActivationName } from './activations.js';
import { ACTIVATION_DEFS, activationBack, WGSL_ARITH } from './activation-defs.js';
import { LAYER_DEFS } from './layer-defs.js';
import type { LayerKind } from './odenet.js';

type T = tf.TensorInfo;

/** The tile edge of the products (a TILE × TILE workgroup per output tile). */
const TILE = 16;

/** What one program computes: the value path's a, h' or σ′, or the tangent path's ȧ or u'. */
export type LayerQuantity = 'a' | 'h' | 'd1' | 'ad' | 'u';

/** The structure a layer program is compiled for (its shader key). */
export interface LayerProgramSpec {
  kind: LayerKind;
  activation: ActivationName;
  out: LayerQuantity;
  /** Rows of the product's weights (W's rows less the time row of `timeRow` kinds); n: its columns. */
  nIn: number;
  n: number;
  /** Columns of the context c (value quantities; 0: none). */
  context: number;
  /** Tangent quantities: the left factor is the unit vectors e_k, row k·B + b (exact trace, first layer). */
  unit: boolean;
  /** Sizes of the kind's time variables (n, or 1 for one per layer), in its `extras` order. */
  extraSizes: readonly number[];
  /**
   * b and the time variables packed in one buffer (b first, then the extras in order): a stage
   * may bind only 8 storage buffers (WebGPU's default limit), output included.
   */
  packed: boolean;
}

/** Storage buffers a program may bind besides its output (WebGPU's default per-stage limit, 8). */
const MAX_INPUTS = 7;

/** The WebGPU program of one layer quantity (tfjs-backend-webgpu's `WebGPUProgram` shape). */
export class LayerProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout = { x: [1], y: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [TILE, TILE, 1];
  readonly uniforms = 't : f32, blockRows : i32,';

  constructor(
    private readonly spec: LayerProgramSpec,
    rows: number,
  ) {
    const def = LAYER_DEFS[spec.kind];
    const tangent = spec.out === 'ad' || spec.out === 'u';
    this.variableNames = [
      ...(spec.unit ? [] : ['Lhs']),
      'Wm',
      ...(tangent ? [] : spec.packed ? ['Pv'] : ['Bv']),
      ...(!tangent && spec.packed ? [] : def.extras.map((_, i) => `Q${i}`)),
      ...(!tangent && spec.context > 0 ? ['Cm', 'Wc'] : []),
      ...(spec.out === 'u' ? ['Dv'] : []),
    ];
    this.outputShape = [rows, spec.n];
    this.dispatch = [Math.ceil(spec.n / TILE), Math.ceil(rows / TILE), 1];
    this.shaderKey = `biflow_layer_${JSON.stringify(spec)}`;
  }

  getUserCode(): string {
    const { kind, activation, out, nIn, n, context: C, unit, extraSizes, packed } = this.spec;
    const tangent = out === 'ad' || out === 'u';
    const def = LAYER_DEFS[kind];
    const act = ACTIVATION_DEFS[activation];
    const q: Record<string, string> = Object.fromEntries(def.extras.map((name) => [name, `q_${name}`]));
    if (def.timeRow) q.wt = 'q_wt';
    const pack = packed && !tangent;
    let offset = n;
    const reads = def.extras.map((name, i) => {
      const at = extraSizes[i] === 1 ? '0' : 'col';
      const read = pack ? `Pv[${offset} + ${at}]` : `Q${i}[${at}]`;
      offset += extraSizes[i]!;
      return `let q_${name} = ${read};`;
    });
    if (def.timeRow) reads.push(`let q_wt = Wm[${nIn * n} + col];`);
    const scale = def.scale ? def.scale(WGSL_ARITH, 't', q) : null;
    const S = scale ? 'S' : null;
    let epilogue: string;
    if (tangent) {
      epilogue = `let ad = ${S ? 'acc * S' : 'acc'};\n` + (out === 'u' ? `value = ad * Dv[(row % uniforms.blockRows) * ${n} + col];` : 'value = ad;');
    } else {
      const ctx = C > 0 ? `for (var j = 0; j < ${C}; j++) { a = a + Cm[row * ${C} + j] * Wc[j * ${n} + col]; }` : '';
      const h = act.h(WGSL_ARITH, 'a');
      const result = out === 'a' ? 'a' : out === 'h' ? h : act.d1(WGSL_ARITH, 'a', 'hv');
      epilogue = `let bv = ${pack ? 'Pv' : 'Bv'}[col];\nvar a = ${S ? 'acc * S' : 'acc'} + ${def.shift(WGSL_ARITH, 't', 'bv', S, q)};\n${ctx}\nlet hv = ${h};\nvalue = ${result};`;
    }
    // Out-of-range tiles load zeros; reads stay inside the buffers (no reliance on robust access).
    const loadLhs = unit ? `select(0.0, 1.0, ka == row / uniforms.blockRows)` : `Lhs[row * ${nIn} + ka]`;
    return `
      var<workgroup> tileL : array<array<f32, ${TILE}>, ${TILE}>;
      var<workgroup> tileW : array<array<f32, ${TILE}>, ${TILE}>;
      fn main() {
        let row = i32(globalId.y);
        let col = i32(globalId.x);
        let tr = i32(localId.y);
        let tc = i32(localId.x);
        let rows = uniforms.outShape[0];
        let t = uniforms.t;
        var acc = 0.0;
        for (var k0 = 0; k0 < ${nIn}; k0 = k0 + ${TILE}) {
          let ka = k0 + tc;
          var l = 0.0;
          if (row < rows && ka < ${nIn}) { l = ${loadLhs}; }
          tileL[tr][tc] = l;
          let kw = k0 + tr;
          var w = 0.0;
          if (kw < ${nIn} && col < ${n}) { w = Wm[kw * ${n} + col]; }
          tileW[tr][tc] = w;
          workgroupBarrier();
          for (var k = 0; k < ${TILE}; k = k + 1) { acc = acc + tileL[tr][k] * tileW[k][tc]; }
          workgroupBarrier();
        }
        if (row < rows && col < ${n}) {
          ${reads.join('\n          ')}
          ${scale ? `let S = ${scale};` : ''}
          var value = 0.0;
          ${epilogue}
          setOutputAtIndex(row * ${n} + col, value);
        }
      }
    `;
  }
}

/** One layer's inputs on the GPU: its variables [W, b, ...extras], W_c and c where conditioned. */
export interface GpuLayerInputs {
  kind: LayerKind;
  activation: ActivationName;
  t: number;
  p: readonly T[];
  Wc: T | null;
  c: T | null;
  /** The layer's input h [B, nIn]. */
  h: T;
  /** The tangents u [K·B, nIn], or null for the unit vectors (K = nIn). */
  u: T | null;
  /** B: rows per tangent block. */
  B: number;
}

/** What a layer's programs made: a (where asked), h', σ′ (hidden layers), ȧ and u' (hidden layers). */
export interface GpuLayer {
  a: T | null;
  h: T | null;
  d1: T | null;
  ad: T;
  u: T | null;
}

/**
 * A layer's quantities as fused programs, or null on backends that run no WGSL. `last`: the
 * output layer (a and ȧ only); `needsA`: a hidden layer's a is wanted too (σ″ reads it).
 */
export function gpuLayer(r: KernelRunner, x: GpuLayerInputs, last: boolean, needsA: boolean): GpuLayer | null {
  if (!r.runsPrograms()) return null;
  const def = LAYER_DEFS[x.kind];
  const [W, b, ...extras] = x.p as [T, T, ...T[]];
  const [rows, n] = W.shape as [number, number];
  const nIn = def.timeRow ? rows - 1 : rows;
  // More rows (tangent rows count K·B) than one dispatch covers: the caller's kernel path instead.
  const tangentRows = x.u ? x.u.shape[0]! : nIn * x.B;
  if (Math.ceil(Math.max(x.B, tangentRows) / TILE) > MAX_WORKGROUPS_PER_DIMENSION) return null;
  const extraSizes = extras.map((e) => e.shape.reduce((s, d) => s * d, 1));
  const C = x.Wc ? x.Wc.shape[0]! : 0;
  const packed = 3 + extras.length + (C > 0 ? 2 : 0) > MAX_INPUTS;
  // One kernel per layer where the value programs would bind too many buffers (a conditioned gated layer).
  const pv = packed ? r.concat([b, ...extras].map((v) => r.reshape(v, [1, v.shape.reduce((s, d) => s * d, 1)])), 1) : null;
  const uniforms = [{ type: 'float32', data: [x.t] }, { type: 'int32', data: [x.B] }];
  const run = (out: LayerQuantity, d1: T | null = null): T => {
    const tangent = out === 'ad' || out === 'u';
    const unit = tangent && !x.u;
    const spec: LayerProgramSpec = { kind: x.kind, activation: x.activation, out, nIn, n, context: tangent ? 0 : C, unit, extraSizes, packed };
    const lhs = tangent ? x.u : x.h;
    const vectors = tangent ? extras : pv ? [pv] : [b, ...extras];
    const inputs = [...(lhs ? [lhs] : []), W, ...vectors, ...(!tangent && C > 0 ? [x.c!, x.Wc!] : []), ...(d1 ? [d1] : [])];
    const outRows = tangent ? (lhs ? lhs.shape[0]! : nIn * x.B) : x.B;
    return r.program(new LayerProgram(spec, outRows), inputs, uniforms)!;
  };
  if (last) return { a: run('a'), h: null, d1: null, ad: run('ad'), u: null };
  const d1 = run('d1');
  return { a: needsA ? run('a') : null, h: run('h'), d1, ad: run('ad'), u: run('u', d1) };
}

/**
 * The reverse through a hidden layer's activation and its tangents in one program:
 *   ā = h̄·σ′ + σ̄′·σ″  with  σ̄′ = Σₖ ǔₖ ⊙ ȧₖ  (the K tangent blocks summed in the program),
 * printed from the activation's definition (what were a product, a block sum and the reverse).
 * Inputs X0 … X5: h̄ [B, n], ǔ and ȧ [K·B, n], h, σ′ [B, n], and a where σ″ reads it. A flat
 * elementwise dispatch whose body reads across the K blocks.
 */
export class ActivationBackProgram extends ElementwiseProgram {
  constructor(
    private readonly activation: ActivationName,
    private readonly blocks: number,
    shape: [number, number],
  ) {
    // The expression slot names the program (its shader key); the body is getUserCode's.
    super(shape, `activation_back_${activation}_${blocks}`, ACTIVATION_DEFS[activation].needsInput ? 6 : 5);
  }

  override getUserCode(): string {
    const def = ACTIVATION_DEFS[this.activation];
    const aBar = activationBack(def, WGSL_ARITH, 'hb', 'db', def.needsInput ? 'av' : '0.0', 'hv', 'dv');
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var db = 0.0;
          for (var k = 0; k < ${this.blocks}; k = k + 1) { db = db + X1[k * uniforms.size + index] * X2[k * uniforms.size + index]; }
          // Every input read (a binding the shader never reads leaves the pipeline's layout and fails to bind).
          let hb = X0[index];
          let hv = X3[index];
          let dv = X4[index];
          ${def.needsInput ? 'let av = X5[index];' : ''}
          setOutputAtIndex(index, ${aBar});
        }
      }
    `;
  }
}

/** ā from h̄, the tangents' cotangent ǔ and the saved ȧ, h, σ′ (and a) as one program, or null on backends that run no WGSL. */
export function gpuActivationBack(r: KernelRunner, activation: ActivationName, hBar: T, uBar: T, ad: T, h: T, d1: T, a: T | null): T | null {
  if (!r.runsPrograms()) return null;
  const shape = h.shape as [number, number];
  const blocks = uBar.shape[0]! / shape[0];
  return r.program(new ActivationBackProgram(activation, blocks, shape), [hBar, uBar, ad, h, d1, ...(a ? [a] : [])]);
}
