/**
 * The WebGPU programs of one ODE-net layer, printed from the layer kind's and the activation's one
 * definition (layer-defs.ts, activation-defs.ts) through `WGSL_ARITH`. Each is a tiled product in
 * workgroup memory with the rest of the layer in its epilogue, and writes everything it makes into
 * one packed output (tfjs-backend-webgpu's programs bind one output buffer; the next program reads
 * the parts at their row offsets, so nothing is sliced or copied):
 *   forward  (one per layer):  a = (h·W)⊙S(t) + Sh(t) (+ c·W_c), h' = σ(a), σ′, then per tangent
 *            block ȧ = (u·W)⊙S(t) and u' = ȧ ⊙ σ′  →  [h' | σ′ | (a) | ȧ | u']  (last layer: [a | ȧ]);
 *   backward (one per layer, two roles): h̄ = ā·(W⊙S)ᵀ, ū = ǡ·(W⊙S)ᵀ and, through the activation
 *            below, ā' = h̄σ′ + σ̄′σ″ with σ̄′ = Σₖ ūₖ ⊙ ȧₖ, ǡ' = ū ⊙ σ′  →  [ā' | ǡ'], and beside it
 *            [W̄; b̄] = [h 1; u 0]ᵀ·[ā; ǡ] as partial sums over row chunks, so a large batch spreads
 *            over many workgroups (the variables' program, layer-grad-program.ts, sums the chunks).
 * The one thread of a tile that makes σ′ also makes every tangent of its row: no quantity two
 * outputs share is recomputed or re-read.
 */
import { tf } from '../backend/engine.js';
import { MAX_WORKGROUPS_PER_DIMENSION } from '../backend/kernels.js';
import type { KernelRunner } from '../backend/kernels.js';
import type { ActivationName } from './activations.js';
import { ACTIVATION_DEFS, activationBack, WGSL_ARITH } from './activation-defs.js';
import { LAYER_DEFS } from './layer-defs.js';
import type { LayerKind } from './odenet.js';

type T = tf.TensorInfo;

/** The tile edge of the products (a TILE × TILE workgroup per output tile). */
const TILE = 16;
/** Rows of the batch one workgroup of the weight-gradient partials sums, at most and at least (the variables' program sums the chunks). */
const CHUNK = 256;
const MIN_CHUNK = 64;
/** Storage buffers a program may bind besides its output (WebGPU's default per-stage limit, 8). */
const MAX_INPUTS = 7;

/** Whether a batch of B rows fits the layer programs' dispatches (else the caller's kernel path). */
export function layerProgramsFit(r: KernelRunner, B: number): boolean {
  return r.runsPrograms() && Math.ceil(B / TILE) <= MAX_WORKGROUPS_PER_DIMENSION;
}

/** Row offsets (in units of B rows) of the parts of a forward pack: value parts, then K blocks of ȧ (and u'). */
export function packRows(K: number, needsA: boolean, last: boolean): { a: number; d1: number; ad: number; u: number; rows: number } {
  const value = last ? 1 : needsA ? 3 : 2;
  return { a: last ? 0 : needsA ? 2 : -1, d1: last ? -1 : 1, ad: value, u: last ? -1 : value + K, rows: value + (last ? 1 : 2) * K };
}

/**
 * Where a layer's input lies in a buffer: h[b, k] at hOff + b·hsb + k·hsk, tangent block j's u[b, k]
 * at uOff + (j·B + b)·usb + k·usk (the state Y's rows are transposed: z and the probe are read in place).
 */
export interface InputAt {
  hOff: number;
  hsb: number;
  hsk: number;
  uOff: number;
  usb: number;
  usk: number;
}

/** The input of layer 0: z (rows 0 … D−1 of Y [width, B]) and the probe (from `probeRow`). */
export const stateInput = (B: number, probeRow: number): InputAt => ({ hOff: 0, hsb: 1, hsk: B, uOff: probeRow * B, usb: 1, usk: B });

/** The input of a later layer: the previous layer's forward pack, `width` columns wide. */
export const packInput = (B: number, width: number, K: number, needsA: boolean): InputAt => ({ hOff: 0, hsb: width, hsk: 1, uOff: packRows(K, needsA, false).u * B * width, usb: width, usk: 1 });

const INPUT_UNIFORMS = 'hOff : i32, hsb : i32, hsk : i32, uOff : i32, usb : i32, usk : i32,';
const inputUniforms = (x: InputAt) => [x.hOff, x.hsb, x.hsk, x.uOff, x.usb, x.usk].map((v) => ({ type: 'int32', data: [v] }));
const hAt = (b: string, k: string) => `Lhs[uniforms.hOff + ${b} * uniforms.hsb + ${k} * uniforms.hsk]`;
const uAt = (j: string, b: string, k: string) => `Lhs[uniforms.uOff + (${j} * uniforms.B + ${b}) * uniforms.usb + ${k} * uniforms.usk]`;

/**
 * acc += Σ_k L[row, k]·R[k, col] over k in [from, from + size) in TILE-wide steps, `lhs`/`rhs` reading
 * element (row, ka) / (kw, col). The trip count is a constant or a uniform (barriers stay in uniform
 * control flow); a long one is a uniform, which the shader compiler does not unroll (lavapipe's
 * LLVM took minutes over 64 unrolled steps).
 */
function tiled(size: number | string, lhs: string, rhs: string, rowOk: string, colOk: string, from = '0', end = `${size}`, active = 'true'): string {
  return `for (var k0 = 0; k0 < ${size}; k0 = k0 + ${TILE}) {
          let ka = ${from} + k0 + tc;
          var l = 0.0;
          if (${active} && ${rowOk} && ka < ${end}) { l = ${lhs}; }
          tileL[tr][tc] = l;
          let kw = ${from} + k0 + tr;
          var w = 0.0;
          if (${active} && kw < ${end} && ${colOk}) { w = ${rhs}; }
          tileW[tr][tc] = w;
          workgroupBarrier();
          if (${active}) { for (var k = 0; k < ${TILE}; k = k + 1) { acc = acc + tileL[tr][k] * tileW[k][tc]; } }
          workgroupBarrier();
        }`;
}

/** What a layer's programs are compiled for (with the program's role, their shader key). */
export interface LayerSpec {
  kind: LayerKind;
  activation: ActivationName;
  /** Rows of the product's weights (W's rows less the time row of `timeRow` kinds); n: its columns. */
  nIn: number;
  n: number;
  /** Tangent blocks per row (1: Hutchinson, D: the exact trace's unit vectors). */
  K: number;
  /** Sizes of the kind's time variables (n, or 1 for one per layer), in its `extras` order. */
  extraSizes: readonly number[];
}

/** WGSL reading the kind's time variables at unit `j` (from Q0 … or from the packed Pv after b) and `fn scaleOf`. */
export function timeVars(s: LayerSpec, packed: boolean): { reads: (j: string) => string; scaleFn: string; q: Record<string, string> } {
  const def = LAYER_DEFS[s.kind];
  const q: Record<string, string> = Object.fromEntries(def.extras.map((name) => [name, `q_${name}`]));
  if (def.timeRow) q.wt = 'q_wt';
  const reads = (j: string) => {
    let offset = s.n;
    const lines = def.extras.map((name, i) => {
      const at = s.extraSizes[i] === 1 ? '0' : j;
      const line = `let q_${name} = ${packed ? `Pv[${offset} + ${at}]` : `Q${i}[${at}]`};`;
      offset += s.extraSizes[i]!;
      return line;
    });
    if (def.timeRow) lines.push(`let q_wt = Wm[${s.nIn * s.n} + ${j}];`);
    return lines.join('\n        ');
  };
  const scaleFn = def.scale ? `fn scaleOf(j : i32) -> f32 {\n        let t = uniforms.t;\n        ${reads('j')}\n        return ${def.scale(WGSL_ARITH, 't', q)};\n      }` : '';
  return { reads, scaleFn, q };
}

/** The WebGPU program shape tfjs-backend-webgpu's `runWebGPUProgram` compiles: a tiled 2-D (3-D) grid. */
abstract class TiledProgram {
  readonly dispatchLayout = { x: [1], y: [0] };
  readonly workgroupSize: [number, number, number] = [TILE, TILE, 1];
  readonly shaderKey: string;
  readonly outputShape: number[];
  constructor(
    readonly variableNames: string[],
    outputShape: number[],
    readonly dispatch: [number, number, number],
    readonly uniforms: string,
    key: string,
  ) {
    this.outputShape = outputShape;
    this.shaderKey = `biflow_${key}`;
  }

  protected shader(prelude: string, body: string): string {
    return `
      var<workgroup> tileL : array<array<f32, ${TILE}>, ${TILE}>;
      var<workgroup> tileW : array<array<f32, ${TILE}>, ${TILE}>;
      ${prelude}
      fn main() {
        let row = i32(globalId.y);
        let col = i32(globalId.x);
        let tr = i32(localId.y);
        let tc = i32(localId.x);
        let t = uniforms.t;
        ${body}
      }
    `;
  }
}

/** The forward program of a layer: its value, σ′ and every tangent block, into one pack. */
export class LayerForwardProgram extends TiledProgram {
  constructor(
    private readonly s: LayerSpec & { last: boolean; needsA: boolean; unit: boolean; context: number; packed: boolean; contextInLhs: boolean },
    B: number,
  ) {
    const def = LAYER_DEFS[s.kind];
    const names = ['Lhs', 'Wm', ...(s.packed ? ['Pv'] : ['Bv', ...def.extras.map((_, i) => `Q${i}`)]), ...(s.context > 0 ? [...(s.contextInLhs ? [] : ['Cm']), 'Wc'] : [])];
    const rows = packRows(s.K, s.needsA, s.last).rows * B;
    super(names, [rows, s.n], [Math.ceil(s.n / TILE), Math.ceil(B / TILE), 1], `t : f32, B : i32, cOff : i32, ${INPUT_UNIFORMS}`, `layer_fwd_${JSON.stringify(s)}`);
  }

  getUserCode(): string {
    const { s } = this;
    const { n, nIn, K, context: C } = s;
    const def = LAYER_DEFS[s.kind];
    const act = ACTIVATION_DEFS[s.activation];
    const { reads, scaleFn, q } = timeVars(s, s.packed);
    const at = packRows(K, s.needsA, s.last);
    const put = (part: number, v: string, block = '0') => `setOutputAtIndex(((${part} + ${block}) * uniforms.B + row) * ${n} + col, ${v});`;
    const cm = s.contextInLhs ? 'Lhs' : 'Cm';
    const ctx = C > 0 ? `for (var j = 0; j < ${C}; j = j + 1) { a = a + ${cm}[uniforms.cOff + j * uniforms.B + row] * Wc[j * ${n} + col]; }` : '';
    const value = s.last
      ? put(at.a, 'a')
      : [put(0, 'hv'), `d1 = ${act.d1(WGSL_ARITH, 'a', 'hv')};`, put(at.d1, 'd1'), s.needsA ? put(at.a, 'a') : ''].join('\n          ');
    const tangent = s.unit ? `let ad = Wm[kb * ${n} + col] * S;` : `let ad = acc * S;`;
    return this.shader(scaleFn, `
        let inside = row < uniforms.B && col < ${n};
        var acc = 0.0;
        ${tiled(nIn, hAt('row', 'ka'), `Wm[kw * ${n} + col]`, 'row < uniforms.B', `col < ${n}`)}
        var S = 1.0;
        var d1 = 0.0;
        if (inside) {
          ${reads('col')}
          ${def.scale ? 'S = scaleOf(col);' : ''}
          let bv = ${s.packed ? 'Pv' : 'Bv'}[col];
          var a = acc * S + ${def.shift(WGSL_ARITH, 't', 'bv', def.scale ? 'S' : null, q)};
          ${ctx}
          let hv = ${act.h(WGSL_ARITH, 'a')};
          ${value}
        }
        for (var kb = 0; kb < ${K}; kb = kb + 1) {
          acc = 0.0;
          ${s.unit ? '' : tiled(nIn, uAt('kb', 'row', 'ka'), `Wm[kw * ${n} + col]`, 'row < uniforms.B', `col < ${n}`)}
          if (inside) {
            ${tangent}
            ${put(at.ad, 'ad', 'kb')}
            ${s.last ? '' : put(at.u, 'ad * d1', 'kb')}
          }
        }`);
  }
}

/**
 * The backward program of a layer: two roles in one dispatch, both reading G = [ā | ǡ]. Workgroup
 * w does tile w of each role that has one (the other role's loads, products and stores masked: its
 * barriers stay in uniform control flow, as WGSL requires, which a branch per role would not):
 *   back:     the cotangents of its input h and tangents u, then — where a layer is below (`below`) —
 *             through that layer's activation and tangent scaling (its forward pack, the input
 *             `Lhs`), giving the next G; layer 0 gives [h̄ | ū];
 *   partials: [W̄; b̄] = [h 1; u 0]ᵀ·[ā; ǡ] over a chunk of rows of the batch per workgroup (h, u at `at`
 *             in `Lhs`), summed over the chunks by the variables' program (layer-grad-program.ts).
 * Output, packed: the next G ((1 + blocksOut)·B rows of nIn) from element 0, then the partials.
 */
export class LayerBackwardProgram extends TiledProgram {
  constructor(
    private readonly s: LayerSpec & { below: boolean; needsA: boolean; blocksOut: number; unit: boolean },
    size: number,
    workgroups: number,
  ) {
    const def = LAYER_DEFS[s.kind];
    // Workgroups in a 2-D grid (each dimension within WebGPU's guaranteed limit), numbered row-major.
    const x = Math.min(workgroups, MAX_WORKGROUPS_PER_DIMENSION);
    const names = ['G', 'Wm', ...(def.scale ? def.extras.map((_, i) => `Q${i}`) : []), 'Lhs'];
    super(names, [size], [x, Math.ceil(workgroups / x), 1], `t : f32, B : i32, chunk : i32, nBack : i32, nGrad : i32, ${INPUT_UNIFORMS}`, `layer_backward_${JSON.stringify(s)}`);
  }

  /** The back role's body (row, col: its output element). */
  private back(): string {
    const { s } = this;
    const { n, nIn, K } = s;
    const def = LAYER_DEFS[s.kind];
    const act = ACTIVATION_DEFS[s.activation];
    const rhs = `Wm[col * ${n} + kw]${def.scale ? ' * scaleW[kw]' : ''}`;
    const fill = def.scale ? `for (var j = i32(localIndex); j < ${n}; j = j + ${TILE * TILE}) { scaleW[j] = scaleOf(j); }
        workgroupBarrier();` : '';
    const below = packRows(K, s.needsA, false);
    const P = (part: number | string, block = '0') => `Lhs[((${part} + ${block}) * uniforms.B + row) * ${nIn} + col]`;
    const put = (block: string, v: string) => `setOutputAtIndex((${block} * uniforms.B + row) * ${nIn} + col, ${v});`;
    const aBar = s.below ? activationBack(act, WGSL_ARITH, 'hb', 'db', s.needsA ? P(below.a) : '0.0', P(0), P(below.d1)) : 'hb';
    return `${fill}
        let inside = back && row < uniforms.B && col < ${nIn};
        var acc = 0.0;
        ${tiled(n, `G[row * ${n} + ka]`, rhs, 'row < uniforms.B', `col < ${nIn}`, '0', `${n}`, 'back')}
        let hb = acc;
        var db = 0.0;
        for (var kb = 0; kb < ${s.blocksOut}; kb = kb + 1) {
          acc = 0.0;
          ${tiled(n, `G[((1 + kb) * uniforms.B + row) * ${n} + ka]`, rhs, 'row < uniforms.B', `col < ${nIn}`, '0', `${n}`, 'back')}
          if (inside) {
            ${s.below ? `db = db + acc * ${P(below.ad, 'kb')};` : ''}
            ${put('(1 + kb)', s.below ? `acc * ${P(below.d1)}` : 'acc')}
          }
        }
        if (inside) { ${put('0', aBar)} }`;
  }

  /** The partials role's body (row, col: its element of [W̄; b̄]; z: its chunk). */
  private partials(): string {
    const { nIn, n, K, unit, blocksOut } = this.s;
    const from = 'z * uniforms.chunk';
    const end = `min(uniforms.B, ${from} + uniforms.chunk)`;
    const ok = [`row <= ${nIn}`, `col < ${n}`] as const;
    const h = `select(${hAt('ka', 'min(row, ' + (nIn - 1) + ')')}, 1.0, row == ${nIn})`;
    const u = unit ? 'select(0.0, 1.0, row == kb)' : `select(${uAt('kb', 'ka', 'min(row, ' + (nIn - 1) + ')')}, 0.0, row == ${nIn})`;
    return `var acc = 0.0;
        ${tiled('uniforms.chunk', h, `G[kw * ${n} + col]`, ...ok, from, end, 'part')}
        for (var kb = 0; kb < ${K}; kb = kb + 1) {
          ${tiled('uniforms.chunk', u, `G[((1 + kb) * uniforms.B + kw) * ${n} + col]`, ...ok, from, end, 'part')}
        }
        if (part && row <= ${nIn} && col < ${n}) { setOutputAtIndex(${1 + blocksOut} * uniforms.B * ${nIn} + (z * ${nIn + 1} + row) * ${n} + col, acc); }`;
  }

  getUserCode(): string {
    const { s } = this;
    const { n, nIn } = s;
    const def = LAYER_DEFS[s.kind];
    const [backX, gradX, gradY] = [nIn, n, nIn + 1].map((v) => Math.ceil(v / TILE));
    // The scale of every unit once per workgroup (in workgroup memory): evaluated at each tile load
    // instead, it tripled the backward pass's time on lavapipe.
    const scale = def.scale ? `${timeVars(s, false).scaleFn}
      var<workgroup> scaleW : array<f32, ${n}>;` : '';
    return `
      var<workgroup> tileL : array<array<f32, ${TILE}>, ${TILE}>;
      var<workgroup> tileW : array<array<f32, ${TILE}>, ${TILE}>;
      ${scale}
      fn main() {
        let w = i32(workgroupId.y * numWorkgroups.x + workgroupId.x);
        let tr = i32(localId.y);
        let tc = i32(localId.x);
        let t = uniforms.t;
        {
          let back = w < uniforms.nBack;
          let row = (w / ${backX}) * ${TILE} + tr;
          let col = (w % ${backX}) * ${TILE} + tc;
          ${this.back()}
        }
        {
          let part = w < uniforms.nGrad;
          let z = w / ${gradX * gradY};
          let row = ((w / ${gradX}) % ${gradY}) * ${TILE} + tr;
          let col = (w % ${gradX}) * ${TILE} + tc;
          ${this.partials()}
        }
      }
    `;
  }
}

/** One layer's variables [W, b, ...extras] and W_c where conditioned. */
export interface GpuLayerVars {
  p: readonly T[];
  Wc: T | null;
}

/** A layer's spec from its variables. */
export function layerSpec(kind: LayerKind, activation: ActivationName, K: number, p: readonly T[]): LayerSpec {
  const def = LAYER_DEFS[kind];
  const [rows, n] = p[0]!.shape as [number, number];
  return { kind, activation, nIn: def.timeRow ? rows - 1 : rows, n, K, extraSizes: p.slice(2).map((e) => tf.util.sizeFromShape(e.shape)) };
}

/** Runs a layer's forward program: the pack [h' | σ′ | (a) | ȧ | u'] (last: [a | ȧ]). `Y` and `cOff`: the context's rows. */
export function runLayerForward(r: KernelRunner, s: LayerSpec, v: GpuLayerVars, t: number, B: number, lhs: T, at: InputAt, opts: { last: boolean; needsA: boolean; unit: boolean; Y: T; cOff: number }): T {
  const [W, b, ...extras] = v.p as [T, T, ...T[]];
  const C = v.Wc ? v.Wc.shape[0]! : 0;
  const contextInLhs = lhs === opts.Y;
  const packed = 3 + extras.length + (C > 0 ? (contextInLhs ? 1 : 2) : 0) > MAX_INPUTS;
  // b and the time variables in one buffer where a stage would bind too many (a conditioned gated layer).
  const vectors = packed ? [r.concat([b, ...extras].map((x) => r.reshape(x, [1, tf.util.sizeFromShape(x.shape)])), 1)] : [b, ...extras];
  const program = new LayerForwardProgram({ ...s, last: opts.last, needsA: opts.needsA, unit: opts.unit, context: C, packed, contextInLhs }, B);
  const inputs = [lhs, W, ...vectors, ...(C > 0 ? [...(contextInLhs ? [] : [opts.Y]), v.Wc!] : [])];
  return r.program(program, inputs, [{ type: 'float32', data: [t] }, { type: 'int32', data: [B] }, { type: 'int32', data: [opts.cOff] }, ...inputUniforms(at)])!;
}

/**
 * Runs a layer's backward program on G = [ā | ǡ]: its input (h at `at` in `lhs`) and, where a layer
 * is below, `lhs` is that layer's forward pack. The packed output holds the next G from element 0
 * and the `chunks` partial sums of [W̄; b̄] ([nIn + 1, n] each) from `rOff` on.
 */
export function runLayerBackward(r: KernelRunner, s: LayerSpec, v: GpuLayerVars, t: number, B: number, G: T, lhs: T, at: InputAt, o: { below: boolean; needsA: boolean; blocksOut: number; unit: boolean }): { out: T; rOff: number; chunks: number } {
  const { nIn, n } = s;
  const def = LAYER_DEFS[s.kind];
  const nBack = Math.ceil(nIn / TILE) * Math.ceil(B / TILE);
  const tiles = Math.ceil(n / TILE) * Math.ceil((nIn + 1) / TILE);
  // Chunks (whole tiles of rows, MIN_CHUNK to CHUNK, at most the batch) so that the partials' tiles
  // about match the back role's: a workgroup then does a tile of each, and few run masked only.
  const even = Math.ceil(Math.ceil(B / Math.max(1, Math.floor(nBack / tiles))) / TILE) * TILE;
  const chunk = Math.min(Math.ceil(B / TILE) * TILE, CHUNK, Math.max(MIN_CHUNK, even));
  const chunks = Math.ceil(B / chunk);
  const nGrad = tiles * chunks;
  const rOff = (1 + o.blocksOut) * B * nIn;
  const program = new LayerBackwardProgram({ ...s, ...o }, rOff + chunks * (nIn + 1) * n, Math.max(nBack, nGrad));
  const extras = def.scale ? v.p.slice(2) : [];
  const uniforms = [{ type: 'float32', data: [t] }, ...[B, chunk, nBack, nGrad].map((x) => ({ type: 'int32', data: [x] })), ...inputUniforms(at)];
  return { out: r.program(program, [G, v.p[0]!, ...extras, lhs], uniforms)!, rOff, chunks };
}
