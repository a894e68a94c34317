/**
 * The kernel-level definitions of the ODE nets' layers and activations, shared by the fused CNF
 * dynamics (cnf-kernel.ts) and the fused flow-matching loss (fm-loss.ts): each activation's jet
 * (h = σ(a), σ′(a)) and its reverse, and each layer kind's effective affine map at a time t with
 * the map back from the effective weights' gradients to the variables'.
 */
import type { tf } from '../backend/engine.js';
import type { HostBuffers, KernelRunner } from '../backend/kernels.js';
import type { ActivationName } from './activations.js';
import { ACTIVATION_DEFS, activationBack, partials, VECTOR_ARITH, WGSL_ARITH } from './activation-defs.js';
import type { ActivationDef, Arith, Dual } from './activation-defs.js';
import { LAYER_DEFS, namedExtras } from './layer-defs.js';
import type { LayerDef } from './layer-defs.js';
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
export function effective(r: KernelRunner, kind: LayerKind, t: number, p: LayerParams): { W: T; b: T; ctx: T[] } {
  const def = LAYER_DEFS[kind];
  const [Wfull, b] = p as [T, T];
  const [rows, n] = Wfull.shape as [number, number];
  const W = def.timeRow ? r.slice(Wfull, [0, 0], [rows - 1, n]) : Wfull;
  // Every time variable as a vector ([n], or [1] for one per layer): broadcasts against b.
  const q = namedExtras(def, p, () => r.slice(Wfull, [rows - 1, 0], [1, n]));
  for (const k of Object.keys(q)) q[k] = r.reshape(q[k]!, [q[k]!.shape.reduce((a, d) => a * d, 1)]);
  const names = Object.keys(q);
  const scaleSize = def.scale ? Math.max(...names.map((k) => q[k]!.shape[0]!)) : 0;
  const host = r.host();
  if (host && def.scale && scaleSize === n) return effectiveHost(host, def, t, W, b, q);
  const tt = r.constant(Float32Array.of(t), []);
  const scale = def.scale;
  const S = scale ? fused(r, (o, tv, ...v) => scale(o, tv!, Object.fromEntries(names.map((k, i) => [k, v[i]!]))), [tt, ...names.map((k) => q[k]!)], [scaleSize]) : null;
  const Sh = fused(r, (o, tv, bv, ...v) => def.shift(o, tv!, bv!, S ? v[0]! : null, Object.fromEntries(names.map((k, i) => [k, v[i + (S ? 1 : 0)]!]))), [tt, b, ...(S ? [S] : []), ...names.map((k) => q[k]!)], [n]);
  return { W: S ? r.mul(W, S) : W, b: Sh, ctx: S ? [S] : [] };
}

/** x's j-th unit: a number, a vector's element, or a one-element vector's only one. */
const unit = (x: Float64Array | number | undefined, j: number): number => (x === undefined ? 0 : typeof x === 'number' ? x : x.length === 1 ? x[0]! : x[j]!);

/** A layer's time variables as float64 vectors, from the host's buffers. */
const hostVectors = (host: HostBuffers, q: Record<string, T>): Record<string, Float64Array> => Object.fromEntries(Object.keys(q).map((k) => [k, Float64Array.from(host.view(q[k]!))]));

/**
 * A per-unit scale's arithmetic in JS on the host's buffers (wasm): the definition evaluated on
 * float64 vectors, and one [in, out] product, where as many kernel calls cost more than the work.
 */
function effectiveHost(host: HostBuffers, def: LayerDef, t: number, W: T, b: T, q: Record<string, T>): { W: T; b: T; ctx: T[] } {
  const [rows, n] = W.shape as [number, number];
  const [We, be, g] = [host.alloc([rows, n]), host.alloc([n]), host.alloc([n])];
  const qv = hostVectors(host, q);
  const S = def.scale!(VECTOR_ARITH, t as unknown as Float64Array, qv);
  const Sh = def.shift(VECTOR_ARITH, t as unknown as Float64Array, Float64Array.from(host.view(b)), S, qv);
  const [Wv, WeV, beV, gV] = [W, We, be, g].map((x) => host.view(x)) as Float32Array[];
  for (let j = 0; j < n; j++) {
    gV![j] = unit(S, j);
    beV![j] = unit(Sh, j);
  }
  for (let i = 0, k = 0; i < rows; i++) for (let j = 0; j < n; j++, k++) WeV![k] = Wv![k]! * gV![j]!;
  return { W: We, b: be, ctx: [g] };
}

/**
 * The partial derivatives of a kind's scale S and shift Sh (layer-defs.ts) with respect to its
 * inputs (b, S and the time variables), read from the definition by forward-mode duals; t is a
 * constant. Values are vectors over the units (or numbers) of the given arithmetic.
 */
function layerPartials<U>(o: Arith<U>, def: LayerDef, t: number, b: U | number, S: U | number | null, q: Readonly<Record<string, U | number>>) {
  const shift = partials(o, (d, x) => def.shift(d, t as unknown as Dual<U>, x.b!, S === null ? null : x.S!, x), { b, ...(S === null ? {} : { S }), ...q });
  const scale = def.scale ? partials(o, (d, x) => def.scale!(d, t as unknown as Dual<U>, x), q) : {};
  return { shift, scale };
}

/**
 * Gradients of the layer's variables [W, b, ...extras] from those of its effective W = W⊙S and
 * b = Sh, by the chain rule through the kind's one definition (layerPartials):
 *   W̄ = W̄ₑ⊙S,  S̄ = Σᵢ W̄ₑ⊙W + b̄ₑ·∂Sh/∂S,  b̄ = b̄ₑ·∂Sh/∂b,  q̄ = S̄·∂S/∂q + b̄ₑ·∂Sh/∂q,
 * W's time row (`timeRow` kinds) taking the gradient of `wt`.
 */
export function layerGrads(r: KernelRunner, kind: LayerKind, t: number, p: LayerParams, ctx: T[], dW: T, db: T): T[] {
  const def = LAYER_DEFS[kind];
  const host = r.host();
  const [Wfull, b] = p as [T, T];
  const [rows, n] = Wfull.shape as [number, number];
  const W = def.timeRow ? r.slice(Wfull, [0, 0], [rows - 1, n]) : Wfull;
  const q = namedExtras(def, p, () => r.slice(Wfull, [rows - 1, 0], [1, n]));
  if (host) return layerGradsHost(host, def, t, p, W, q, ctx[0] ?? null, dW, db);
  for (const k of Object.keys(q)) q[k] = r.reshape(q[k]!, [q[k]!.shape.reduce((a, d) => a * d, 1)]);
  const S = ctx[0] ?? null;
  const { shift, scale } = layerPartials<T>(r, def, t, b, S, q);
  const times = (x: T, y: T | number | undefined): T | number => (y === undefined || y === 0 ? 0 : y === 1 ? x : r.mul(x, y));
  const plus = (x: T | number, y: T | number): T | number => (x === 0 ? y : y === 0 ? x : r.add(x, y));
  const sBar = S ? (plus(r.sum(r.mul(dW, W), 0), times(db, shift.S)) as T) : null;
  const bar = (k: string, size: number): T => {
    const g = plus(times(db, shift[k]), sBar ? times(sBar, scale[k]) : 0);
    const v = typeof g === 'number' ? r.zeros([n]) : g;
    // A per-layer variable ([1]) gathers its units' gradients.
    return size === 1 && v.shape[0] !== 1 ? r.sum(v) : v;
  };
  const size = (k: string): number => q[k]!.shape[0]!;
  const dWe = S ? r.mul(dW, S) : dW;
  const dWfull = def.timeRow ? r.concat([dWe, r.reshape(bar('wt', n), [1, n])], 0) : dWe;
  const dbOut = times(db, shift.b);
  return [dWfull, typeof dbOut === 'number' ? r.zeros([n]) : dbOut, ...def.extras.map((k, i) => r.reshape(bar(k, size(k)), p[2 + i]!.shape))];
}

/** {@link layerGrads} in JS on the host's buffers (wasm): per unit, the same partials as numbers. */
function layerGradsHost(host: HostBuffers, def: LayerDef, t: number, p: LayerParams, W: T, q: Record<string, T>, S: T | null, dWe: T, dbe: T): T[] {
  const [rows, n] = p[0]!.shape as [number, number];
  const wRows = W.shape[0]!;
  const outs = [host.alloc([rows, n]), host.alloc([n]), ...def.extras.map((_, i) => host.alloc(p[2 + i]!.shape))];
  const [Wv, bv, dWeV, dbeV] = [W, p[1]!, dWe, dbe].map((x) => host.view(x)) as Float32Array[];
  const Sv = S ? host.view(S) : null;
  // S per unit, or one for the layer (hyper).
  const Sat = (j: number): number => (Sv!.length === 1 ? Sv![0]! : Sv![j]!);
  const [dW, db] = [host.view(outs[0]!), host.view(outs[1]!)];
  const extras = def.extras.map((_, i) => host.view(outs[2 + i]!));
  extras.forEach((e) => e.fill(0));
  const sBar = new Float64Array(n);
  for (let i = 0, k = 0; i < wRows; i++) {
    for (let j = 0; j < n; j++, k++) {
      sBar[j] += dWeV![k]! * Wv![k]!;
      dW[k] = Sv ? dWeV![k]! * Sat(j) : dWeV![k]!;
    }
  }
  const qvec = hostVectors(host, q);
  const Svec = Sv ? Float64Array.from(Sv) : null;
  const { shift, scale } = layerPartials(VECTOR_ARITH, def, t, Float64Array.from(bv!), Svec, qvec);
  for (let j = 0; j < n; j++) {
    const g = dbeV![j]!;
    const s = Sv ? sBar[j]! + g * unit(shift.S, j) : 0;
    db[j] = g * unit(shift.b, j);
    const bar = (k: string): number => g * unit(shift[k], j) + s * unit(scale[k], j);
    if (def.timeRow) dW[wRows * n + j] = bar('wt');
    def.extras.forEach((k, i) => (extras[i]!.length === 1 ? (extras[i]![0]! += bar(k)) : (extras[i]![j] = bar(k))));
  }
  return outs;
}
