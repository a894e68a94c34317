/**
 * The kernel-level definitions of the ODE nets' layers and activations, shared by the fused CNF
 * dynamics (cnf-kernel.ts) and the fused flow-matching loss (fm-loss.ts): each activation's jet
 * (h = σ(a), σ′(a)) and its reverse, and each layer kind's effective affine map at a time t with
 * the map back from the effective weights' gradients to the variables'.
 */
import type { tf } from '../backend/engine.js';
import type { HostBuffers, KernelRunner } from '../backend/kernels.js';
import type { ActivationName } from './activations.js';
import { ACTIVATION_DEFS, WGSL_ARITH } from './activation-defs.js';
import type { ActivationDef } from './activation-defs.js';
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
      back: WGSL_ARITH.add(WGSL_ARITH.mul('v0', 'v3'), WGSL_ARITH.mul('v1', def.d2(WGSL_ARITH, 'v4', 'v2', 'v3'))),
    };
    const jet: ActivationJet = {
      jet: (r, a) => {
        const h = r.elementwise(wgsl.h, [a]) ?? def.h(r, a);
        return { h, d1: r.elementwise(wgsl.d1, [a, h]) ?? def.d1(r, a, h) };
      },
      back: (r, hBar, d1Bar, a, h, d1) => r.elementwise(wgsl.back, [hBar, d1Bar, h, d1, ...(def.needsInput ? [a!] : [])]) ?? r.add(r.mul(hBar, d1), r.mul(d1Bar, def.d2(r, a!, h, d1))),
      needsInput: def.needsInput,
    };
    return [name, jet];
  }),
) as Record<ActivationName, ActivationJet>;

/** The parameters of one ODENet layer: W, b and the kind's time weights. */
export type LayerParams = readonly T[];


/**
 * The layer's affine map at time t, h·W(t) + b(t): the effective W and b, plus what the backward
 * pass needs to map their gradients back to the variables (`ctx`).
 */
export function effective(r: KernelRunner, kind: LayerKind, t: number, p: LayerParams): { W: T; b: T; ctx: T[] } {
  const [W, b] = p as [T, T];
  switch (kind) {
    case 'ignore':
      return { W, b, ctx: [] };
    case 'concat': {
      // [h, t]·W + b: the last row of W multiplies t.
      const [rows, n] = W.shape as [number, number];
      return { W: r.slice(W, [0, 0], [rows - 1, n]), b: r.add(b, r.mul(r.reshape(r.slice(W, [rows - 1, 0], [1, n]), [n]), t)), ctx: [] };
    }
    case 'squash':
    case 'concatsquash': {
      // (h·W + b)·g + t·w_b with the gate g = sigmoid(t·w_g + b_g).
      const host = r.host();
      if (host) return squashEffectiveHost(host, kind, t, p);
      const n = W.shape[1]!;
      const g = r.reshape(r.sigmoid(r.add(r.mul(p[2]!, t), p[3]!)), [n]);
      const bg = r.mul(b, g);
      return { W: r.mul(W, g), b: kind === 'concatsquash' ? r.add(bg, r.mul(r.reshape(p[4]!, [n]), t)) : bg, ctx: [g] };
    }
    case 'hyper': {
      // h·(W·(1 + tanh(t·w_h))) + b.
      const th = r.tanh(r.mul(p[2]!, t));
      return { W: r.mul(W, r.add(th, 1)), b, ctx: [th] };
    }
  }
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
      const th = ctx[0]!;
      return [r.mul(dW, r.add(th, 1)), db, r.reshape(r.mul(r.mul(r.sub(1, r.square(th)), t), r.sum(r.mul(dW, W))), [1, 1])];
    }
  }
}

/**
 * The gated layers' per-evaluation parameter arithmetic in JS on the host's buffers: a dozen
 * vectors and two [in, out] products, where as many kernel calls cost more than the work.
 */
function squashEffectiveHost(host: HostBuffers, kind: LayerKind, t: number, p: LayerParams): { W: T; b: T; ctx: T[] } {
  const [rows, n] = p[0]!.shape as [number, number];
  const [We, be, g] = [host.alloc([rows, n]), host.alloc([n]), host.alloc([n])];
  const [W, b, wg, bg] = [p[0]!, p[1]!, p[2]!, p[3]!].map((x) => host.view(x)) as Float32Array[];
  const wb = kind === 'concatsquash' ? host.view(p[4]!) : null;
  const [WeV, beV, gV] = [We, be, g].map((x) => host.view(x)) as Float32Array[];
  for (let j = 0; j < n; j++) {
    const gj = 1 / (1 + Math.exp(-(t * wg![j]! + bg![j]!)));
    gV![j] = gj;
    beV![j] = b![j]! * gj + (wb ? t * wb[j]! : 0);
  }
  for (let i = 0, k = 0; i < rows; i++) for (let j = 0; j < n; j++, k++) WeV![k] = W![k]! * gV![j]!;
  return { W: We, b: be, ctx: [g] };
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
