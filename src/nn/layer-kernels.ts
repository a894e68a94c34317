/**
 * The kernel-level definitions of the ODE nets' layers and activations, shared by the fused CNF
 * dynamics (cnf-kernel.ts) and the fused flow-matching loss (fm-loss.ts): each activation's jet
 * (h = σ(a), σ′(a)) and its reverse, and each layer kind's effective affine map at a time t with
 * the map back from the effective weights' gradients to the variables'.
 */
import type { tf } from '../backend/engine.js';
import type { HostBuffers, KernelRunner } from '../backend/kernels.js';
import type { ActivationName } from './activations.js';
import { ACTIVATION_DEFS, activationBack, NUMBER_ARITH, WGSL_ARITH } from './activation-defs.js';
import type { ActivationDef, Arith } from './activation-defs.js';
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
  if (host && def.scale && scaleSize === n) return effectiveHost(r, host, def, t, W, b, q);
  const tt = r.constant(Float32Array.of(t), []);
  const scale = def.scale;
  const S = scale ? fused(r, (o, tv, ...v) => scale(o, tv!, Object.fromEntries(names.map((k, i) => [k, v[i]!]))), [tt, ...names.map((k) => q[k]!)], [scaleSize]) : null;
  const Sh = fused(r, (o, tv, bv, ...v) => def.shift(o, tv!, bv!, S ? v[0]! : null, Object.fromEntries(names.map((k, i) => [k, v[i + (S ? 1 : 0)]!]))), [tt, b, ...(S ? [S] : []), ...names.map((k) => q[k]!)], [n]);
  return { W: S ? r.mul(W, S) : W, b: Sh, ctx: S ? [S] : [] };
}

/**
 * A per-unit scale's arithmetic in JS on the host's buffers (wasm): the scale and the shift, a few
 * vectors where as many kernel calls cost more than the work; W⊙S, [in, out] products, by one
 * broadcast kernel (a JS loop costs about 5 ns an element here, the kernel under 1 ns).
 */
function effectiveHost(r: KernelRunner, host: HostBuffers, def: LayerDef, t: number, W: T, b: T, q: Record<string, T>): { W: T; b: T; ctx: T[] } {
  const n = W.shape[1]!;
  const [be, g] = [host.alloc([n]), host.alloc([n])];
  const names = Object.keys(q);
  const [bv, beV, gV] = [b, be, g].map((x) => host.view(x)) as Float32Array[];
  const views = names.map((k) => host.view(q[k]!));
  // Plain loops over one reused record (this runs per unit, per layer, per evaluation).
  const at: Record<string, number> = Object.fromEntries(names.map((k) => [k, 0]));
  const per = views.map((v) => v.length !== 1);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < names.length; i++) at[names[i]!] = views[i]![per[i] ? j : 0]!;
    const s = def.scale!(NUMBER_ARITH, t, at);
    gV![j] = s;
    beV![j] = def.shift(NUMBER_ARITH, t, bv![j]!, s, at);
  }
  return { W: r.mul(W, g), b: be, ctx: [g] };
}

/** Gradients of the layer's variables from those of its effective W and b. */
export function layerGrads(r: KernelRunner, kind: LayerKind, t: number, p: LayerParams, ctx: T[], dW: T, db: T): T[] {
  const [W, b] = p as [T, T];
  switch (kind) {
    case 'ignore':
      return [dW, db];
    case 'concat': {
      const n = W.shape[1]!;
      return [r.concat([dW, r.reshape(r.mul(db, t), [1, n])], 0), db];
    }
    case 'squash':
    case 'concatsquash': {
      const host = r.host();
      if (host) return squashGradsHost(host, kind, t, p, ctx[0]!, dW, db);
      const n = W.shape[1]!;
      const g = ctx[0]!;
      const dg = r.add(r.sum(r.mul(dW, W), 0), r.mul(db, b));
      const dPre = r.mul(dg, r.mul(g, r.sub(1, g)));
      const out = [r.mul(dW, g), r.mul(db, g), r.reshape(r.mul(dPre, t), [1, n]), dPre];
      if (kind === 'concatsquash') out.push(r.reshape(r.mul(db, t), [1, n]));
      return out;
    }
    case 'hyper': {
      // ctx: the scale 1 + tanh(t·w_h).
      const scale = ctx[0]!;
      const th = r.sub(scale, 1);
      return [r.mul(dW, scale), db, r.reshape(r.mul(r.mul(r.sub(1, r.square(th)), t), r.sum(r.mul(dW, W))), [1, 1])];
    }
  }
}

/** Gradients of a gated layer's variables from those of its effective W and b, in JS (see above). */
function squashGradsHost(host: HostBuffers, kind: LayerKind, t: number, p: LayerParams, g: T, dWe: T, dbe: T): T[] {
  const [rows, n] = p[0]!.shape as [number, number];
  const outs = [host.alloc([rows, n]), host.alloc([n]), host.alloc([1, n]), host.alloc([n]), ...(kind === 'concatsquash' ? [host.alloc([1, n])] : [])];
  const [W, b, gV, dWeV, dbeV] = [p[0]!, p[1]!, g, dWe, dbe].map((x) => host.view(x)) as Float32Array[];
  const [dW, db, dwg, dbg, dwb] = outs.map((x) => host.view(x));
  const dg = new Float64Array(n);
  for (let i = 0, k = 0; i < rows; i++) {
    for (let j = 0; j < n; j++, k++) {
      dg[j] += dWeV![k]! * W![k]!;
      dW![k] = dWeV![k]! * gV![j]!;
    }
  }
  for (let j = 0; j < n; j++) {
    const gj = gV![j]!;
    const pre = (dg[j]! + dbeV![j]! * b![j]!) * gj * (1 - gj);
    db![j] = dbeV![j]! * gj;
    dwg![j] = t * pre;
    dbg![j] = pre;
    if (dwb) dwb[j] = t * dbeV![j]!;
  }
  return outs;
}
