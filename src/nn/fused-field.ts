/**
 * The augmented dynamics of a CNF on an {@link ODENet} as one op with a closed-form backward pass.
 *
 * A CNF's state is one tensor `Y = [z; L; (E; F); (ε)]`, one row per component and one column per
 * sample ([width, B]: every slice and concatenation of it is contiguous). Its derivative is
 *   dz/dt = f(t, z),  dL/dt = tr ∂f/∂z,  dE/dt = ‖f‖²,  dF/dt = ‖∂f/∂z‖² (estimated),  dε/dt = 0.
 * Taping this through tfjs costs a gradient of a gradient: a VJP per evaluation for the trace and
 * the tape of that VJP for training. Here the net is written out instead. Every ODENet layer is an
 * affine map with time-dependent weights, `h ↦ h·W(t) + b(t)`, followed by an activation σ, so the
 * forward pass carries tangents along with the state (forward-mode differentiation):
 *   a = h·W + b,  ȧ = u·W,  h' = σ(a),  u' = ȧ ⊙ σ'(a),
 * starting from u = ε (Hutchinson: tr ≈ εᵀ(∂f/∂z)ε = ⟨ε, ȧ_L⟩, ‖∂f/∂z‖² ≈ ‖ȧ_L‖²) or from the D
 * unit vectors (exact trace Σₖ ȧ_L⁽ᵏ⁾ₖ and the exact ‖∂f/∂z‖²_F). The backward pass is that
 * computation's reverse mode written by hand, σ'' included, so training needs no nested tape: a
 * handful of matrix products per layer and no saved-tensor copies beyond what the formulas use.
 *
 * Inside, the op calls the backend's kernels directly (KernelRunner, no engine bookkeeping per
 * step) and, on wasm, does the arithmetic on narrow and parameter-sized arrays in JS on the heap.
 *
 * The op differentiates once in closed form. Where a gradient of its gradient is taken (a Hessian
 * through the field), its backward pass is recomputed on the tape by the taped reference instead,
 * so higher orders stay right.
 */
import { tf } from '../backend/engine.js';
import type { ActivationName } from './activations.js';
import type { LayerKind } from './odenet.js';
import { gradsOf } from '../ode/gradients.js';
import { KernelRunner } from '../backend/kernels.js';
import { engineState, isTapedOp, onTapeReleased } from '../backend/tape.js';
import type { HostBuffers } from '../backend/kernels.js';

type T = tf.TensorInfo;
type Tensor = tf.Tensor;

/** Which rows of the state tensor hold what. */
export interface AugmentedLayout {
  dim: number;
  /** RNODE terms E (∫‖f‖²) and F (∫‖∂f/∂z‖²) follow L. */
  regs: boolean;
  /** 'hutchinson': the probe ε is the last `dim` rows; 'exact': no probe. */
  trace: 'exact' | 'hutchinson';
}

/** Number of rows of the state tensor for a layout. */
export function augmentedWidth({ dim, regs, trace }: AugmentedLayout): number {
  return dim + 1 + (regs ? 2 : 0) + (trace === 'hutchinson' ? dim : 0);
}

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

/** ā = h̄·σ′ + σ̄′·σ″ for a given σ″. */
const backWith = (r: KernelRunner, hBar: T, d1Bar: T, d1: T, d2: T): T => r.add(r.mul(hBar, d1), r.mul(d1Bar, d2));

/** Every activation's kernel definition. */
export const JETS: Record<ActivationName, ActivationJet> = {
  // tanh(a) = 2σ(2a) − 1: tfjs-wasm's sigmoid is vectorised, its tanh is not (≈ 10× slower).
  tanh: {
    jet: (r, a) => {
      const h = r.sub(r.mul(r.sigmoid(r.mul(a, 2)), 2), 1);
      return { h, d1: r.sub(1, r.square(h)) };
    },
    // σ″ = −2hσ′, so ā = σ′·(h̄ − 2h·σ̄′): one op fewer than the general form.
    back: (r, hBar, d1Bar, _a, h, d1) => r.mul(d1, r.sub(hBar, r.mul(r.mul(h, d1Bar), 2))),
    needsInput: false,
  },
  sigmoid: {
    jet: (r, a) => {
      const h = r.sigmoid(a);
      return { h, d1: r.mul(h, r.sub(1, h)) };
    },
    back: (r, hBar, d1Bar, _a, h, d1) => backWith(r, hBar, d1Bar, d1, r.mul(d1, r.sub(1, r.mul(h, 2)))),
    needsInput: false,
  },
  softplus: {
    jet: (r, a) => ({ h: r.softplus(a), d1: r.sigmoid(a) }),
    back: (r, hBar, d1Bar, _a, _h, d1) => backWith(r, hBar, d1Bar, d1, r.mul(d1, r.sub(1, d1))),
    needsInput: false,
  },
  swish: {
    jet: (r, a) => {
      const s = r.sigmoid(a);
      return { h: r.mul(a, s), d1: r.mul(s, r.add(1, r.mul(a, r.sub(1, s)))) };
    },
    // σ″ = s(1 − s)(2 + a(1 − 2s)) with s = sigmoid(a).
    back: (r, hBar, d1Bar, a, _h, d1) => {
      const s = r.sigmoid(a!);
      return backWith(r, hBar, d1Bar, d1, r.mul(r.mul(s, r.sub(1, s)), r.add(2, r.mul(a!, r.sub(1, r.mul(s, 2))))));
    },
    needsInput: true,
  },
  elu: {
    jet: (r, a) => {
      const positive = r.step(a);
      return { h: r.elu(a), d1: r.add(positive, r.mul(r.sub(1, positive), r.exp(r.minimum(a, 0)))) };
    },
    // σ″ is 0 for a > 0 and eᵃ = σ′ otherwise.
    back: (r, hBar, d1Bar, a, _h, d1) => backWith(r, hBar, d1Bar, d1, r.mul(d1, r.sub(1, r.step(a!)))),
    needsInput: true,
  },
};

/** The parameters of one ODENet layer: W, b and the kind's time weights. */
type LayerParams = readonly T[];


/**
 * The layer's affine map at time t, h·W(t) + b(t): the effective W and b, plus what the backward
 * pass needs to map their gradients back to the variables (`ctx`).
 */
function effective(r: KernelRunner, kind: LayerKind, t: number, p: LayerParams): { W: T; b: T; ctx: T[] } {
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
function layerGrads(r: KernelRunner, kind: LayerKind, t: number, p: LayerParams, ctx: T[], dW: T, db: T): T[] {
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

/** What the closed-form op needs to know about the net. */
export interface FusedNet {
  kind: LayerKind;
  activation: ActivationName;
  /** The variables of each layer: W, b, then the kind's time weights. */
  layers: readonly (readonly Tensor[])[];
}

/** The taped fallback, used for gradients of the op's gradient: same value, differentiable to any order. */
export type AugmentedReference = (t: number, y: Tensor) => Tensor;

/**
 * dY/dt for the state tensor Y (layout above) at time t, as one op whose gradient with respect
 * to Y and the net's variables is written in closed form.
 */
export function fusedAugmented(net: FusedNet, layout: AugmentedLayout, t: number, y: tf.Tensor2D, reference: AugmentedReference): tf.Tensor2D {
  if (!KernelRunner.create()) return reference(t, y) as tf.Tensor2D;
  const { kind, activation, layers } = net;
  const variables = layers.flat();
  const L = layers.length;
  const per = layers[0]!.length;
  const act = JETS[activation];
  const { dim: D, regs, trace } = layout;
  const hutch = trace === 'hutchinson';
  const K = hutch ? 1 : D;
  const width = augmentedWidth(layout);
  const state = engineState();
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as (ts: tf.Tensor[]) => void;
    const Y = args[0] as Tensor;
    const B = Y.shape[1]!;
    const r = KernelRunner.create()!;
    try {
      const rowScale = rowScaler(r, B);
      // The narrow state rows move in and out by JS loops where the host holds the buffers (wasm):
      // a handful of kernel calls on [D, B] tensors cost more than the work.
      const host = r.host();
      const rowsOf = (first: number): T => (host ? transposeRows(host, Y, first, D, B) : r.transpose(r.slice(Y, [first, 0], [D, B])));
      const z = rowsOf(0);
      const probe = hutch ? rowsOf(width - D) : null;
      const saved: T[] = [z, ...(probe ? [probe] : [])];
      // Per layer, indices into `saved`: input h, input tangents u (none for the exact trace's first layer), W, ctx, d1, ȧ, a.
      const at: Entry[] = [];
      let h: T = z;
      let u: T | null = probe;
      let hIndex = 0;
      let uIndex = probe ? 1 : -1;
      let fz: T = z;
      let tang: T = z;
      layers.forEach((p, l) => {
        const e = effective(r, kind, t, p);
        const a = r.matMul(h, e.W, e.b);
        // Exact trace: the first layer's tangents of the unit vectors are the rows of W.
        const ad = u ? r.matMul(u, e.W) : r.reshape(r.tile(r.reshape(e.W, [D, 1, -1]), [1, B, 1]), [D * B, -1]);
        const entry: Entry = { h: hIndex, u: uIndex, W: saved.push(e.W) - 1, ctx: e.ctx.map((c) => saved.push(c) - 1), d1: -1, ad: -1, a: -1 };
        at.push(entry);
        if (l + 1 === L) {
          fz = a;
          tang = ad;
          return;
        }
        const { h: hn, d1 } = act.jet(r, a);
        entry.d1 = saved.push(d1) - 1;
        entry.ad = saved.push(ad) - 1;
        if (act.needsInput) entry.a = saved.push(a) - 1;
        h = hn;
        u = rowScale(ad, d1);
        hIndex = saved.push(h) - 1;
        uIndex = saved.push(u) - 1;
      });
      // ⟨ε, J ε⟩, or Σₖ (J e_k)_k with the D unit vectors; then the output rows [fᵀ; tr; (‖f‖², ‖J‖²); (0)].
      let value: T;
      if (host) value = readout(host, fz, tang, probe, B);
      else {
        const div = hutch ? r.sum(r.mul(probe!, tang), 1) : r.sum(r.sum(r.mul(r.reshape(tang, [D, B, D]), r.reshape(r.eye(D), [D, 1, D])), 2), 0);
        const rows: T[] = [r.transpose(fz), r.reshape(div, [1, B])];
        if (regs) {
          const sq = r.square(tang);
          const jac = hutch ? r.sum(sq, 1) : r.sum(r.sum(r.reshape(sq, [D, B, D]), 2), 0);
          rows.push(r.reshape(r.sum(r.square(fz), 1), [1, B]), r.reshape(jac, [1, B]));
        }
        if (probe) rows.push(r.zeros([D, B]));
        value = r.concat(rows, 0);
      }
      saved.push(fz, tang);
      const iF = saved.length - 2;
      // Where a backward pass will run (the op is being taped), the buffers it reads stay held
      // until it has run, or until the tape that recorded the op is done (see `sweep`). Only Y goes
      // through tfjs's `save`: its clone stays on the tape, which the taped fallback needs for
      // gradients of gradients, and tfjs disposes it when the tape is done.
      let entry: Held | null = null;
      if (isTapedOp()) {
        save([Y]);
        const kept = r.hold([...saved, ...variables]);
        entry = { release: kept.release, sentinel: null, items: kept.items };
        held.add(entry);
        pendingEntry = entry;
      }
      return {
        value: r.keep(value),
        gradFunc: (dy: T, kept: T[]): Tensor[] => {
          try {
            // A gradient of this gradient (the tape is still recording), or a second backward pass
            // through the op after the first released its buffers: the taped reference.
            if (state.gradientDepth > 0 || !entry || !held.has(entry)) return referenceGrads(reference, t, kept[0] as Tensor, dy as Tensor, variables as Tensor[]);
            const rb = KernelRunner.create()!;
            try {
              return backward(rb, entry.items, entry.items.slice(saved.length), dy, B, iF, at, rowScaler(rb, B)).map((g) => rb.keep(g));
            } finally {
              rb.free();
            }
          } finally {
            if (entry) release(entry);
          }
        },
      };
    } finally {
      r.free();
    }
  });

  /** K-blocked tangent rows [K·B, n] times a per-row factor [B, n]. */
  function rowScaler(r: KernelRunner, B: number) {
    return (u: T, f: T): T => (K === 1 ? r.mul(u, f) : r.reshape(r.mul(r.reshape(u, [K, B, -1]), f), [K * B, -1]));
  }

  /** Per layer, indices into the saved buffers (−1: none). */
  type Entry = { h: number; u: number; W: number; ctx: number[]; d1: number; ad: number; a: number };
  function backward(r: KernelRunner, s: T[], params: T[], dy: T, B: number, iF: number, at: Entry[], rowScale: (u: T, f: T) => T): T[] {
    const fz = s[iF]!;
    const tang = s[iF + 1]!;
    const pr = hutch ? s[1]! : null;
    const host = r.host();
    let aBar: T;
    let adBar: T;
    let probeBar: T | null;
    if (host) [aBar, adBar, probeBar] = seeds(host, dy, fz, tang, pr, B);
    else {
      const dDiv = r.reshape(r.slice(dy, [D, 0], [1, B]), [B, 1]);
      aBar = r.transpose(r.slice(dy, [0, 0], [D, B]));
      adBar = hutch ? r.mul(pr!, dDiv) : r.reshape(r.mul(r.reshape(r.eye(D), [D, 1, D]), r.reshape(dDiv, [1, B, 1])), [D * B, D]);
      probeBar = hutch ? r.mul(tang, dDiv) : null;
    }
    if (regs && !host) {
      const dE = r.reshape(r.slice(dy, [D + 1, 0], [1, B]), [B, 1]);
      const dJ = r.reshape(r.slice(dy, [D + 2, 0], [1, B]), [B, 1]);
      aBar = r.add(aBar, r.mul(fz, r.mul(dE, 2)));
      adBar = r.add(adBar, rowScale(tang, r.mul(dJ, 2)));
    }
    // tfjs-wasm packs the right operand of a product on every call, so the narrower one goes there.
    const outer = (x: T, y: T): T => (x.shape[1]! < y.shape[1]! ? r.transpose(r.matMul(r.transpose(y), x)) : r.matMul(r.transpose(x), y));
    const grads: T[][] = [];
    let zBar: T = aBar;
    let uBar0: T | null = null;
    for (let l = L - 1; l >= 0; l--) {
      const e = at[l]!;
      if (l < L - 1) {
        // Through h' = σ(a) and u' = ȧ ⊙ σ′(a): aBar, adBar hold h̄', ū'.
        const d1 = s[e.d1]!;
        const ad = s[e.ad]!;
        const prod = r.mul(adBar, ad);
        const d1Bar = K === 1 ? prod : r.sum(r.reshape(prod, [K, B, -1]), 0);
        adBar = rowScale(adBar, d1);
        aBar = act.back(r, aBar, d1Bar, e.a >= 0 ? s[e.a]! : null, s[at[l + 1]!.h]!, d1);
      }
      const W = s[e.W]!;
      const hIn = s[e.h]!;
      const db = r.sum(aBar, 0);
      // W̄ = hᵀ·ā + uᵀ·ǡ as one product (tfjs-wasm's transposed matMul is not vectorised; transpose is cheap).
      const dW = e.u >= 0 ? outer(r.concat([hIn, s[e.u]!], 0), r.concat([aBar, adBar], 0)) : r.add(outer(hIn, aBar), r.sum(r.reshape(adBar, [D, B, -1]), 1));
      grads[l] = layerGrads(r, kind, t, params.slice(l * per, (l + 1) * per), e.ctx.map((i) => s[i]!), dW, db);
      const Wt = r.transpose(W);
      const hBar = r.matMul(aBar, Wt);
      if (l > 0) {
        adBar = r.matMul(adBar, Wt);
        aBar = hBar;
      } else {
        zBar = hBar;
        if (hutch) uBar0 = r.matMul(adBar, Wt);
      }
    }
    if (host) return [stateGrad(host, zBar, probeBar, uBar0, B), ...grads.flat()];
    const yRows: T[] = [r.transpose(zBar), r.zeros([width - D - (hutch ? D : 0), B])];
    if (probeBar) yRows.push(r.transpose(r.add(probeBar, uBar0!)));
    return [r.concat(yRows, 0), ...grads.flat()];
  }

  /** D rows of Y from `first` on, as a [B, D] matrix. */
  function transposeRows(host: HostBuffers, Y: T, first: number, D: number, B: number): T {
    const out = host.alloc([B, D]);
    const [y, o] = [host.view(Y), host.view(out)];
    for (let d = 0; d < D; d++) for (let b = 0, i = (first + d) * B; b < B; b++, i++) o[b * D + d] = y[i]!;
    return out;
  }

  /** The output rows from f, the tangents and the probe. */
  function readout(host: HostBuffers, fz: T, tang: T, probe: T | null, B: number): T {
    const out = host.alloc([width, B]);
    const [o, f, u] = [host.view(out), host.view(fz), host.view(tang)];
    const e = probe ? host.view(probe) : null;
    for (let b = 0; b < B; b++) {
      let div = 0;
      let kin = 0;
      let jac = 0;
      for (let d = 0; d < D; d++) {
        const fd = f[b * D + d]!;
        o[d * B + b] = fd;
        kin += fd * fd;
      }
      if (e) {
        for (let d = 0; d < D; d++) {
          const ud = u[b * D + d]!;
          div += e[b * D + d]! * ud;
          jac += ud * ud;
        }
      } else {
        for (let k = 0; k < D; k++) {
          const row = (k * B + b) * D;
          div += u[row + k]!;
          for (let d = 0; d < D; d++) jac += u[row + d]! * u[row + d]!;
        }
      }
      o[D * B + b] = div;
      if (regs) {
        o[(D + 1) * B + b] = kin;
        o[(D + 2) * B + b] = jac;
      }
    }
    if (e) o.fill(0, (width - D) * B);
    return out;
  }

  /** The cotangents entering the last layer (f̄ + 2Ē f; ε·tr̄ + 2F̄ Jε) and the probe's direct one. */
  function seeds(host: HostBuffers, dy: T, fz: T, tang: T, pr: T | null, B: number): [T, T, T | null] {
    const [aBar, adBar] = [host.alloc([B, D]), host.alloc([K * B, D])];
    const probeBar = pr ? host.alloc([B, D]) : null;
    const [g, f, u, a, ad] = [host.view(dy), host.view(fz), host.view(tang), host.view(aBar), host.view(adBar)];
    const [e, pb] = pr ? [host.view(pr), host.view(probeBar!)] : [null, null];
    for (let b = 0; b < B; b++) {
      const dDiv = g[D * B + b]!;
      const dE = regs ? 2 * g[(D + 1) * B + b]! : 0;
      const dJ = regs ? 2 * g[(D + 2) * B + b]! : 0;
      for (let d = 0; d < D; d++) a[b * D + d] = g[d * B + b]! + dE * f[b * D + d]!;
      if (e) {
        for (let d = 0; d < D; d++) {
          const i = b * D + d;
          ad[i] = e[i]! * dDiv + dJ * u[i]!;
          pb![i] = u[i]! * dDiv;
        }
      } else {
        for (let k = 0; k < D; k++) for (let d = 0; d < D; d++) {
          const i = (k * B + b) * D + d;
          ad[i] = (k === d ? dDiv : 0) + dJ * u[i]!;
        }
      }
    }
    return [aBar, adBar, probeBar];
  }

  /** Y's cotangent rows [z̄ᵀ; 0; (ε̄ᵀ)] with ε̄ = direct part + the tangent chain's. */
  function stateGrad(host: HostBuffers, zBar: T, probeBar: T | null, uBar0: T | null, B: number): T {
    const out = host.alloc([width, B]);
    const [o, zb] = [host.view(out), host.view(zBar)];
    const [pb, ub] = probeBar ? [host.view(probeBar), host.view(uBar0!)] : [null, null];
    o.fill(0, D * B, (width - (pb ? D : 0)) * B);
    for (let d = 0; d < D; d++) {
      for (let b = 0; b < B; b++) o[d * B + b] = zb[b * D + d]!;
      if (pb) for (let b = 0, r0 = (width - D + d) * B; b < B; b++) o[r0 + b] = pb[b * D + d]! + ub![b * D + d]!;
    }
    return out;
  }

  sweep();
  let pendingEntry: Held | null = null;
  const out = op(y, ...variables) as tf.Tensor2D;
  if (pendingEntry) {
    // The op's tape node was the last one recorded; tfjs disposes its saved clone of Y when the
    // tape is done, which tells `sweep` that the held buffers can go.
    (pendingEntry as Held).sentinel = engineState().activeTape?.at(-1)?.saved?.[0] ?? null;
  }
  return out;
}

/**
 * Buffers held for a backward pass (the saved ones, then the variables as they were), and the
 * saved tensor whose disposal says the tape is done.
 */
interface Held {
  items: T[];
  release: () => void;
  sentinel: Tensor | null;
}

const held = new Set<Held>();

function release(entry: Held): void {
  if (held.delete(entry)) entry.release();
}

/**
 * Frees the buffers of ops whose tape is done without their backward pass having run (a rejected
 * step of an adaptive solve, an output the loss did not use).
 */
function sweep(): void {
  for (const entry of held) if (entry.sentinel?.isDisposed) release(entry);
}
// A solve that fails under a tape frees its recorded ops (backend/tape.ts): release at once.
onTapeReleased(sweep);

/** The op's gradient from the taped reference: for gradients of gradients, which the closed form does not tape. */
function referenceGrads(reference: AugmentedReference, t: number, y: Tensor, dy: Tensor, variables: readonly Tensor[]): Tensor[] {
  return gradsOf(() => tf.sum(tf.mul(reference(t, y), dy)), [y, ...variables]);
}

/**
 * The same dY/dt on the tfjs tape: f from the net, the trace from vector–Jacobian products
 * (Hutchinson: εᵀ(∂f/∂z)ε; exact: D stacked copies of the batch, copy k probed with e_k),
 * ‖∂f/∂z·ε‖² through a VJP of a VJP. Slow, differentiable to any order: the reference of the
 * closed form, and its backward pass where gradients of gradients are taken.
 */
export function tapedAugmented(apply: (t: number, z: Tensor) => Tensor, layout: AugmentedLayout, t: number, y: Tensor): tf.Tensor2D {
  const { dim: D, regs, trace } = layout;
  const hutch = trace === 'hutchinson';
  const width = augmentedWidth(layout);
  return tf.tidy(() => {
    const B = y.shape[1]!;
    const z = tf.transpose(tf.slice(y, [0, 0], [D, B]));
    let f: Tensor | null = null;
    const cols: Tensor[] = [];
    let jac: Tensor | null = null;
    if (hutch) {
      const probe = tf.transpose(tf.slice(y, [width - D, 0], [D, B]));
      const vjp = tf.grad((zz: Tensor) => {
        f = tf.keep(apply(t, zz));
        return tf.sum(tf.mul(f, probe));
      })(z);
      cols.push(f!, tf.sum(tf.mul(vjp, probe), 1, true));
      if (regs) {
        // J·ε = ∂/∂v ⟨vᵀJ, ε⟩, a VJP of a VJP.
        const jvp = tf.grad((v: Tensor) => tf.sum(tf.mul(tf.grad((zz: Tensor) => tf.sum(tf.mul(apply(t, zz), v)))(z), probe)))(tf.zerosLike(z));
        jac = tf.sum(tf.square(jvp), 1, true);
      }
    } else {
      const rows = tf.tile(z, [D, 1]);
      const E = tf.reshape(tf.tile(tf.reshape(tf.eye(D), [D, 1, D]), [1, B, 1]), [D * B, D]);
      const g = tf.grad((zz: Tensor) => {
        const fr = apply(t, zz);
        f = tf.keep(tf.slice(fr, [0, 0], [B, D]));
        return tf.sum(tf.mul(fr, E));
      })(rows);
      cols.push(f!, tf.reshape(tf.sum(tf.reshape(tf.sum(tf.mul(g, E), 1), [D, B]), 0), [B, 1]));
      // Σₖ ‖e_kᵀ J‖² = ‖J‖²_F = Σₖ ‖J e_k‖².
      if (regs) jac = tf.reshape(tf.sum(tf.reshape(tf.sum(tf.square(g), 1), [D, B]), 0), [B, 1]);
    }
    if (regs) cols.push(tf.sum(tf.square(f!), 1, true), jac!);
    if (hutch) cols.push(tf.zeros([B, D]));
    const out = tf.transpose(tf.concat(cols, 1)) as tf.Tensor2D;
    f!.dispose(); // kept out of the gradient's scope above
    return out;
  });
}
