/**
 * The kernel-level definitions of the ODE nets' layers and activations, shared by the fused CNF
 * dynamics (cnf-kernel.ts) and the fused flow-matching loss (fm-loss.ts): each activation's jet
 * (h = σ(a), σ′(a)) and its reverse, and each layer kind's effective affine map at a time t with
 * the map back from the effective weights' gradients to the variables'.
 */
import { tf } from '../backend/engine.js';
import type { HostBuffers, KernelRunner } from '../backend/kernels.js';
import type { ActivationName } from './activations.js';
import { ACTIVATION_DEFS, activationBack, WGSL_ARITH } from './activation-defs.js';
import type { ActivationDef, Arith } from './activation-defs.js';
import { layerGradList, reduceTo, runExprs } from './expr-kernels.js';
import { generatesLoops, hostLoop } from './host-loops.js';
import type { Level } from './host-loops.js';
import { LAYER_DEFS, namedExtras } from './layer-defs.js';
import { LAYER_DERIVS } from './layer-derivs.js';
import type { LayerDerivs } from './layer-derivs.js';
import type { LayerKind } from './odenet.js';

type T = tf.TensorInfo;

/**
 * An activation in kernels (this op's and the FM loss's, nn/fm-loss.ts): `jet` gives h = σ(a) and
 * σ′(a); `back` gives ā = h̄·σ′ + σ̄′·σ″ from the cotangents of h and of σ′, reusing what `jet`
 * made (and a, for those that need it).
 */
export interface ActivationJet {
  jet(r: KernelRunner, a: T): { h: T; d1: T };
  back(r: KernelRunner, hBar: T, d1Bar: T, a: T | null, h: T, d1: T): T;
  needsInput: boolean;
}

/**
 * Every activation's kernel form, from its one definition (activation-defs.ts): on the runner's
 * kernels, or where the backend runs WGSL (WebGPU) printed as one fused program per quantity
 * (h, σ′, and ā in the backward pass) instead of a dispatch per operation.
 */
export const JETS = Object.fromEntries(
  Object.entries(ACTIVATION_DEFS).map(([name, def]: [string, ActivationDef]) => {
    const wgsl = {
      h: def.h(WGSL_ARITH, 'v0'),
      d1: def.d1(WGSL_ARITH, 'v0', 'v1'),
      // ā = h̄·σ′ + σ̄′·σ″ from (h̄, σ̄′, h, σ′, a).
      back: activationBack(def, WGSL_ARITH, 'v0', 'v1', 'v4', 'v2', 'v3'),
    };
    const jet: ActivationJet = {
      jet: (r, a) => {
        const h = r.elementwise(wgsl.h, [a]) ?? def.h(r, a);
        return { h, d1: r.elementwise(wgsl.d1, [a, h]) ?? def.d1(r, a, h) };
      },
      back: (r, hBar, d1Bar, a, h, d1) => r.elementwise(wgsl.back, [hBar, d1Bar, h, d1, ...(def.needsInput ? [a!] : [])]) ?? activationBack(def, r, hBar, d1Bar, a!, h, d1),
      needsInput: def.needsInput,
    };
    return [name, jet];
  }),
) as Record<ActivationName, ActivationJet>;

/** The parameters of one ODENet layer: W, b and the kind's time weights. */
export type LayerParams = readonly T[];


/**
 * `f` (an expression over the arithmetic) on the inputs: printed as WGSL and run as one program
 * where the backend runs WGSL, else on the runner's kernels. An expression that is one of its
 * inputs is that input (no work).
 */
function fused(r: KernelRunner, f: <U>(o: Arith<U>, ...v: U[]) => U, inputs: T[], shape: number[]): T {
  const expr = f(WGSL_ARITH, ...inputs.map((_, i) => `v${i}`));
  const same = /^v(\d+)$/.exec(expr);
  if (same) return inputs[Number(same[1])]!;
  return r.elementwise(expr, inputs, shape) ?? f(r, ...inputs);
}

/**
 * The layer's affine map at time t, h·W(t) + b(t), from its kind's one definition (layer-defs.ts):
 * the effective W = W⊙S and b = Sh, plus what the backward pass needs to map their gradients
 * back to the variables (`ctx`: the scale S, where the kind has one).
 */
/** A layer's W without its time row (timeRow kinds), b, and its time variables by name. */
export interface LayerParts {
  W: T;
  b: T;
  q: Record<string, T>;
}

/** {@link LayerParts} of a layer's variables [W, b, ...extras] (W's time row a slice, for timeRow kinds). */
export function layerParts(r: KernelRunner, kind: LayerKind, p: LayerParams): LayerParts {
  const def = LAYER_DEFS[kind];
  const [Wfull, b] = p as [T, T];
  const [rows, n] = Wfull.shape as [number, number];
  return { W: def.timeRow ? r.slice(Wfull, [0, 0], [rows - 1, n]) : Wfull, b, q: namedExtras(def, p, () => r.slice(Wfull, [rows - 1, 0], [1, n])) };
}

export function effective(r: KernelRunner, kind: LayerKind, t: number, p: LayerParams): { W: T; b: T; ctx: T[] } {
  const def = LAYER_DEFS[kind];
  const { W, b, q } = layerParts(r, kind, p);
  const n = W.shape[1]!;
  // Every time variable as a vector ([n], or [1] for one per layer): broadcasts against b.
  for (const k of Object.keys(q)) q[k] = r.reshape(q[k]!, [q[k]!.shape.reduce((a, d) => a * d, 1)]);
  const names = Object.keys(q);
  const scaleSize = def.scale ? Math.max(...names.map((k) => q[k]!.shape[0]!)) : 0;
  const host = r.host();
  if (host && def.scale && scaleSize === n) return effectiveHost(r, host, kind, t, W, b, q);
  const tt = r.constant(Float32Array.of(t), []);
  const scale = def.scale;
  const S = scale ? fused(r, (o, tv, ...v) => scale(o, tv!, Object.fromEntries(names.map((k, i) => [k, v[i]!]))), [tt, ...names.map((k) => q[k]!)], [scaleSize]) : null;
  const Sh = fused(r, (o, tv, bv, ...v) => def.shift(o, tv!, bv!, S ? v[0]! : null, Object.fromEntries(names.map((k, i) => [k, v[i + (S ? 1 : 0)]!]))), [tt, b, ...(S ? [S] : []), ...names.map((k) => q[k]!)], [n]);
  return { W: S ? r.mul(W, S) : W, b: Sh, ctx: S ? [S] : [] };
}


/**
 * A per-unit scale's arithmetic in JS on the host's buffers (wasm): the scale and the shift, a few
 * vectors where as many kernel calls cost more than the work, in one generated loop over the units
 * (host-loops.ts; about 1 µs a layer, where evaluating the definitions per unit took 9);
 * W⊙S, [in, out] products, by one broadcast kernel (a JS loop costs about 5 ns an element here,
 * the kernel under 1 ns).
 */
function effectiveHost(r: KernelRunner, host: HostBuffers, kind: LayerKind, t: number, W: T, b: T, q: Record<string, T>): { W: T; b: T; ctx: T[] } {
  const n = W.shape[1]!;
  const [be, g] = [host.alloc([n]), host.alloc([n])];
  const names = Object.keys(q);
  const views = names.map((k) => host.view(q[k]!));
  const inputs = [{ name: 't', level: 'scalar' as Level }, { name: 'b', level: 'unit' as Level }, ...names.map((name, i) => ({ name, level: (views[i]!.length === 1 ? 'scalar' : 'unit') as Level }))];
  // One row of n units: the 'elem' outputs are per unit.
  hostLoop(inputs, [{ expr: LAYER_DERIVS[kind].scale!, level: 'elem' }, { expr: LAYER_DERIVS[kind].shiftOfT, level: 'elem' }])(1, n, [Float64Array.of(t), host.view(b), ...views], [host.view(g), host.view(be)]);
  return { W: r.mul(W, g), b: be, ctx: [g] };
}

/**
 * Gradients of the layer's variables [W, b, ...time variables] from those of its effective W and
 * b (dW, db) at time t, by the one rule of layer-derivs.ts for every kind; `ctx` is what
 * {@link effective} returned (the scale S, where the kind has one).
 */
export function layerGrads(r: KernelRunner, kind: LayerKind, t: number, p: LayerParams, ctx: T[], dW: T, db: T): T[] {
  const d = LAYER_DERIVS[kind];
  const S = d.scale ? ctx[0]! : null;
  const host = generatesLoops() ? r.host() : null;
  if (host) return layerGradsHost(host, d, t, p, S, dW, db);
  const { W, b, q } = layerParts(r, kind, p);
  const n = W.shape[1]!;
  const env: Record<string, T | number> = { t, b, dbe: db, ...(S ? { S, dWW: r.sum(r.mul(dW, W), 0) } : {}) };
  for (const k of d.vars) env[k] = r.reshape(q[k]!, [tf.util.sizeFromShape(q[k]!.shape)]);
  const names = ['b', ...d.vars];
  const values = runExprs(r, names.map((k) => d.grads[k]!), env);
  const grads = Object.fromEntries(names.map((k, i) => [k, reduceTo(r, values[i]!, [n], k === 'b' ? b.shape : q[k]!.shape)]));
  return layerGradList(r, d, S ? r.mul(dW, S) : dW, grads);
}

/**
 * {@link layerGrads} in JS on the host's buffers (wasm): dW = dW_e⊙S and Σ_i dW_e,ij·W_ij in
 * one pass over W, then each variable's gradient per unit in one generated loop.
 */
function layerGradsHost(host: HostBuffers, d: LayerDerivs, t: number, p: LayerParams, S: T | null, dWe: T, dbe: T): T[] {
  const [Wfull, b] = p as [T, T];
  const [rows, n] = Wfull.shape as [number, number];
  const inRows = dWe.shape[0]!;
  const timeRow = inRows < rows;
  const { extras, bPassed } = d;
  if (bPassed && !S && !timeRow && extras.length === 0) return [dWe, dbe];
  const gW = S || timeRow ? host.alloc([rows, n]) : dWe;
  const outs = [bPassed ? dbe : host.alloc(b.shape), ...extras.map((_, i) => host.alloc(p[2 + i]!.shape))];
  const dWW = S ? host.alloc([n]) : null;
  const [Wv, dWeV, gWv] = [Wfull, dWe, gW].map((x) => host.view(x));
  if (S) scaleGrads(dWeV!, Wv!, host.view(S), gWv!, host.view(dWW!), inRows, n);
  else if (timeRow) gWv!.set(dWeV!);
  // Inputs by name, each a unit's value or one for the layer; wt: W's last row.
  const named: [string, Float32Array | Float64Array][] = [['t', Float64Array.of(t)], ['b', host.view(b)], ['dbe', host.view(dbe)]];
  if (S) named.push(['S', host.view(S)], ['dWW', host.view(dWW!)]);
  extras.forEach((k, i) => named.push([k, host.view(p[2 + i]!)]));
  if (timeRow) named.push(['wt', host.view(Wfull).subarray(inRows * n)]);
  const inputs = named.map(([name, v]) => ({ name, level: (name === 't' ? 'row' : v.length === 1 ? 'scalar' : 'unit') as Level }));
  const targets = [...(bPassed ? [] : ['b']), ...extras, ...(timeRow ? ['wt'] : [])];
  const views = [...outs.slice(bPassed ? 1 : 0).map((x) => host.view(x)), ...(timeRow ? [gWv!.subarray(inRows * n)] : [])];
  const outputs = targets.map((k, i) => ({ expr: d.grads[k]!, level: (views[i]!.length === 1 ? 'scalar' : 'unit') as Level }));
  if (outputs.length > 0) hostLoop(inputs, outputs)(1, n, named.map(([, v]) => v), views);
  return [gW, ...outs];
}

/**
 * dW = dW_e⊙S (S per unit, or one for the layer) and Σ_i dW_e,ij·W_ij per unit, column by column:
 * the sum in one local (a quarter faster here on [64, 64] than a row of accumulators in an array).
 */
function scaleGrads(dWe: Float32Array, W: Float32Array, S: Float32Array, dW: Float32Array, dWW: Float32Array, rows: number, n: number): void {
  const one = S.length === 1;
  for (let j = 0, end = rows * n; j < n; j++) {
    const s = one ? S[0]! : S[j]!;
    let acc = 0;
    for (let k = j; k < end; k += n) {
      const g = dWe[k]!;
      acc += g * W[k]!;
      dW[k] = g * s;
    }
    dWW[j] = acc;
  }
}
