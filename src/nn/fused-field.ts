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
 * The op differentiates once in closed form. Where a gradient of its gradient is taken (a Hessian
 * through the field), its backward pass is recomputed on the tape by the taped reference instead,
 * so higher orders stay right.
 */
import { tf } from '../backend/engine.js';
import type { ActivationName } from './activations.js';
import type { LayerKind } from './odenet.js';
import { gradsOf } from '../ode/gradients.js';

type T = tf.Tensor;

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

/** σ, σ′ and σ″ of an activation in tfjs ops; `second` gets what `jet` made (and a where needed). */
interface ActivationJet {
  jet(a: T): { h: T; d1: T };
  second(a: T | null, h: T, d1: T): T;
  needsInput: boolean;
}

const JETS: Record<ActivationName, ActivationJet> = {
  // tanh(a) = 2σ(2a) − 1: tfjs-wasm's sigmoid is vectorised, its tanh is not (≈ 10× slower).
  tanh: {
    jet: (a) => {
      const h = tf.sub(tf.mul(tf.sigmoid(tf.mul(a, 2)), 2), 1);
      return { h, d1: tf.sub(1, tf.square(h)) };
    },
    second: (_a, h, d1) => tf.mul(tf.mul(h, d1), -2),
    needsInput: false,
  },
  sigmoid: {
    jet: (a) => {
      const h = tf.sigmoid(a);
      return { h, d1: tf.mul(h, tf.sub(1, h)) };
    },
    second: (_a, h, d1) => tf.mul(d1, tf.sub(1, tf.mul(h, 2))),
    needsInput: false,
  },
  softplus: {
    jet: (a) => ({ h: tf.softplus(a), d1: tf.sigmoid(a) }),
    second: (_a, _h, d1) => tf.mul(d1, tf.sub(1, d1)),
    needsInput: false,
  },
  swish: {
    jet: (a) => {
      const s = tf.sigmoid(a);
      return { h: tf.mul(a, s), d1: tf.mul(s, tf.add(1, tf.mul(a, tf.sub(1, s)))) };
    },
    // σ″ = s(1 − s)(2 + a(1 − 2s)) with s = sigmoid(a).
    second: (a, _h, _d1) => {
      const s = tf.sigmoid(a!);
      return tf.mul(tf.mul(s, tf.sub(1, s)), tf.add(2, tf.mul(a!, tf.sub(1, tf.mul(s, 2)))));
    },
    needsInput: true,
  },
  elu: {
    jet: (a) => {
      const positive = tf.step(a);
      return { h: tf.elu(a), d1: tf.add(positive, tf.mul(tf.sub(1, positive), tf.exp(tf.minimum(a, 0)))) };
    },
    // 0 for a > 0, eᵃ = σ′ otherwise.
    second: (a, _h, d1) => tf.mul(d1, tf.sub(1, tf.step(a!))),
    needsInput: true,
  },
};

/** The parameters of one ODENet layer: W, b and the kind's time weights. */
type LayerParams = readonly T[];

/** Number of variables per layer of each kind (W, b, then the time weights). */
export const PARAMS_PER_LAYER: Record<LayerKind, number> = { concatsquash: 5, squash: 4, hyper: 3, concat: 2, ignore: 2 };

/**
 * The layer's affine map at time t, h·W(t) + b(t): the effective W and b, plus what the backward
 * pass needs to map their gradients back to the variables (`ctx`).
 */
function effective(kind: LayerKind, t: number, p: LayerParams): { W: T; b: T; ctx: T[] } {
  const [W, b] = p as [T, T];
  switch (kind) {
    case 'ignore':
      return { W, b, ctx: [] };
    case 'concat': {
      // [h, t]·W + b: the last row of W multiplies t.
      const [rows, n] = W.shape as [number, number];
      return { W: tf.slice(W, [0, 0], [rows - 1, n]), b: tf.add(b, tf.mul(tf.reshape(tf.slice(W, [rows - 1, 0], [1, n]), [n]), t)), ctx: [] };
    }
    case 'squash':
    case 'concatsquash': {
      // (h·W + b)·g + t·w_b with the gate g = sigmoid(t·w_g + b_g).
      const n = W.shape[1]!;
      const g = tf.reshape(tf.sigmoid(tf.add(tf.mul(p[2]!, t), p[3]!)), [n]);
      const bg = tf.mul(b, g);
      return { W: tf.mul(W, g), b: kind === 'concatsquash' ? tf.add(bg, tf.mul(tf.reshape(p[4]!, [n]), t)) : bg, ctx: [g] };
    }
    case 'hyper': {
      // h·(W·(1 + tanh(t·w_h))) + b.
      const th = tf.tanh(tf.mul(p[2]!, t));
      return { W: tf.mul(W, tf.add(th, 1)), b, ctx: [th] };
    }
  }
}

/** Gradients of the layer's variables from those of its effective W and b. */
function layerGrads(kind: LayerKind, t: number, p: LayerParams, ctx: T[], dW: T, db: T): T[] {
  const [W, b] = p as [T, T];
  switch (kind) {
    case 'ignore':
      return [dW, db];
    case 'concat': {
      const n = W.shape[1]!;
      return [tf.concat([dW, tf.reshape(tf.mul(db, t), [1, n])], 0), db];
    }
    case 'squash':
    case 'concatsquash': {
      const n = W.shape[1]!;
      const g = ctx[0]!;
      const dg = tf.add(tf.sum(tf.mul(dW, W), 0), tf.mul(db, b));
      const dPre = tf.mul(dg, tf.mul(g, tf.sub(1, g)));
      const out = [tf.mul(dW, g), tf.mul(db, g), tf.reshape(tf.mul(dPre, t), [1, n]), dPre];
      if (kind === 'concatsquash') out.push(tf.reshape(tf.mul(db, t), [1, n]));
      return out;
    }
    case 'hyper': {
      const th = ctx[0]!;
      return [tf.mul(dW, tf.add(th, 1)), db, tf.mul(tf.mul(tf.sub(1, tf.square(th)), t), tf.sum(tf.mul(dW, W)))];
    }
  }
}

/** What the closed-form op needs to know about the net. */
export interface FusedNet {
  kind: LayerKind;
  activation: ActivationName;
  /** All variables, layer by layer ([W, b, …time weights] each). */
  variables: readonly T[];
}

/** The taped fallback, used for gradients of the op's gradient: same value, differentiable to any order. */
export type AugmentedReference = (t: number, y: T) => T;

/**
 * dY/dt for the state tensor Y (layout above) at time t, as one op whose gradient with respect
 * to Y and the net's variables is written in closed form.
 */
export function fusedAugmented(net: FusedNet, layout: AugmentedLayout, t: number, y: tf.Tensor2D, reference: AugmentedReference): tf.Tensor2D {
  const { kind, activation, variables } = net;
  const per = PARAMS_PER_LAYER[kind];
  const L = variables.length / per;
  const layers = Array.from({ length: L }, (_, l) => variables.slice(l * per, (l + 1) * per));
  const act = JETS[activation];
  const { dim: D, regs, trace } = layout;
  const hutch = trace === 'hutchinson';
  const K = hutch ? 1 : D;
  const width = augmentedWidth(layout);
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as (ts: T[]) => void;
    const Y = args[0] as T;
    const B = Y.shape[1]!;
    const z = tf.transpose(tf.slice(Y, [0, 0], [D, B]));
    const probe = hutch ? tf.transpose(tf.slice(Y, [width - D, 0], [D, B])) : null;
    // K-blocked tangent rows [K·B, n] times a per-row factor [B, n].
    const rowScale = (u: T, s: T): T => (K === 1 ? tf.mul(u, s) : tf.reshape(tf.mul(tf.reshape(u, [K, B, -1]), s), [K * B, -1]));
    const saved: T[] = [z, ...(probe ? [probe] : [])];
    // Per layer, indices into `saved`: input h, input tangents u (none for the exact trace's first layer), W, ctx, d1, ȧ, a.
    const at: { h: number; u: number; W: number; ctx: number[]; d1: number; ad: number; a: number }[] = [];
    let h: T = z;
    let u: T | null = probe;
    let hIndex = 0;
    let uIndex = probe ? 1 : -1;
    let f: T | null = null;
    let adL: T | null = null;
    layers.forEach((p, l) => {
      const e = effective(kind, t, p);
      const a = tf.add(tf.matMul(h, e.W), e.b);
      // Exact trace: the first layer's tangents of the unit vectors are the rows of W.
      const ad = u ? tf.matMul(u, e.W) : tf.reshape(tf.tile(tf.reshape(e.W, [D, 1, -1]), [1, B, 1]), [D * B, -1]);
      const entry = { h: hIndex, u: uIndex, W: saved.push(e.W) - 1, ctx: e.ctx.map((c) => saved.push(c) - 1), d1: -1, ad: -1, a: -1 };
      at.push(entry);
      if (l + 1 === L) {
        f = a;
        adL = ad;
        return;
      }
      const { h: hn, d1 } = act.jet(a);
      entry.d1 = saved.push(d1) - 1;
      entry.ad = saved.push(ad) - 1;
      if (act.needsInput) entry.a = saved.push(a) - 1;
      h = hn;
      u = rowScale(ad, d1);
      hIndex = saved.push(h) - 1;
      uIndex = saved.push(u) - 1;
    });
    const fz = f as unknown as T;
    const tang = adL as unknown as T;
    // ⟨ε, J ε⟩, or Σₖ (J e_k)_k with the D unit vectors.
    const readout = hutch ? tf.mul(probe!, tang) : tf.mul(tf.reshape(tang, [D, B, D]), tf.reshape(tf.eye(D), [D, 1, D]));
    const div = hutch ? tf.sum(readout, 1, true) : tf.reshape(tf.sum(tf.sum(readout, 2), 0), [B, 1]);
    const rows: T[] = [tf.transpose(fz), tf.reshape(div, [1, B])];
    if (regs) {
      const sq = tf.square(tang);
      const jac = hutch ? tf.sum(sq, 1, true) : tf.reshape(tf.sum(tf.sum(tf.reshape(sq, [D, B, D]), 2), 0), [B, 1]);
      rows.push(tf.reshape(tf.sum(tf.square(fz), 1), [1, B]), tf.reshape(jac, [1, B]));
    }
    if (probe) rows.push(tf.zeros([D, B]));
    saved.push(fz, tang, Y);
    save(saved);
    const iF = saved.length - 3;
    return {
      value: tf.concat(rows, 0),
      gradFunc: (dy: T, kept: T[]): T[] => {
        const state = (tf.engine() as unknown as { state: { gradientDepth: number } }).state;
        if (state.gradientDepth > 0) return referenceGrads(reference, t, kept[iF + 2]!, dy, variables);
        return backward(kept, dy, B);
      },
    };

    function backward(s: T[], dy: T, B: number): T[] {
      const fz = s[iF]!;
      const tang = s[iF + 1]!;
      const pr = hutch ? s[1]! : null;
      const dF = tf.transpose(tf.slice(dy, [0, 0], [D, B]));
      const dDiv = tf.reshape(tf.slice(dy, [D, 0], [1, B]), [B, 1]);
      let aBar = dF;
      let adBar = hutch ? tf.mul(pr!, dDiv) : tf.reshape(tf.mul(tf.reshape(tf.eye(D), [D, 1, D]), tf.reshape(dDiv, [1, B, 1])), [D * B, D]);
      let probeBar: T | null = hutch ? tf.mul(tang, dDiv) : null;
      if (regs) {
        const dE = tf.reshape(tf.slice(dy, [D + 1, 0], [1, B]), [B, 1]);
        const dJ = tf.reshape(tf.slice(dy, [D + 2, 0], [1, B]), [B, 1]);
        aBar = tf.add(aBar, tf.mul(fz, tf.mul(dE, 2)));
        adBar = tf.add(adBar, rowScale(tang, tf.mul(dJ, 2)));
      }
      const grads: T[][] = [];
      let zBar: T | null = null;
      for (let l = L - 1; l >= 0; l--) {
        const e = at[l]!;
        const p = layers[l]!;
        if (l < L - 1) {
          // Through h' = σ(a) and u' = ȧ ⊙ σ′(a): aBar, adBar hold h̄', ū'.
          const d1 = s[e.d1]!;
          const ad = s[e.ad]!;
          const hn = s[at[l + 1]!.h]!;
          const d2 = act.second(e.a >= 0 ? s[e.a]! : null, hn, d1);
          const prod = tf.mul(adBar, ad);
          const d1Bar = K === 1 ? prod : tf.sum(tf.reshape(prod, [K, B, -1]), 0);
          adBar = rowScale(adBar, d1);
          aBar = tf.add(tf.mul(aBar, d1), tf.mul(d1Bar, d2));
        }
        const W = s[e.W]!;
        const hIn = s[e.h]!;
        const db = tf.sum(aBar, 0);
        // W̄ = hᵀ·ā + uᵀ·ǡ as one product (tfjs-wasm's transposed matMul is not vectorised; transpose is cheap).
        let dW: T;
        // tfjs-wasm packs the right operand on every call, so the narrower one goes there.
        const outer = (x: T, y: T): T => (x.shape[1]! < y.shape[1]! ? tf.transpose(tf.matMul(tf.transpose(y), x)) : tf.matMul(tf.transpose(x), y));
        if (e.u >= 0) dW = outer(tf.concat([hIn, s[e.u]!], 0), tf.concat([aBar, adBar], 0));
        else dW = tf.add(outer(hIn, aBar), tf.sum(tf.reshape(adBar, [D, B, -1]), 1));
        grads[l] = layerGrads(kind, t, p, e.ctx.map((i) => s[i]!), dW, db);
        if (l > 0 || hutch) {
          const Wt = tf.transpose(W);
          const hBar = tf.matMul(aBar, Wt);
          const uBar = e.u >= 0 ? tf.matMul(adBar, Wt) : null;
          if (l > 0) {
            aBar = hBar;
            adBar = uBar!;
          } else {
            zBar = hBar;
            probeBar = tf.add(probeBar!, uBar!);
          }
        } else {
          zBar = tf.matMul(aBar, tf.transpose(W));
        }
      }
      const yRows: T[] = [tf.transpose(zBar!), tf.zeros([width - D - (hutch ? D : 0), B])];
      if (probeBar) yRows.push(tf.transpose(probeBar));
      return [tf.concat(yRows, 0), ...grads.flat()];
    }
  });
  return op(y, ...variables) as tf.Tensor2D;
}

/** The op's gradient from the taped reference: for gradients of gradients, which the closed form does not tape. */
function referenceGrads(reference: AugmentedReference, t: number, y: T, dy: T, variables: readonly T[]): T[] {
  return gradsOf(() => tf.sum(tf.mul(reference(t, y), dy)), [y, ...variables]);
}

/**
 * The same dY/dt on the tfjs tape: f from the net, the trace from vector–Jacobian products
 * (Hutchinson: εᵀ(∂f/∂z)ε; exact: D stacked copies of the batch, copy k probed with e_k),
 * ‖∂f/∂z·ε‖² through a VJP of a VJP. Slow, differentiable to any order: the reference of the
 * closed form, and its backward pass where gradients of gradients are taken.
 */
export function tapedAugmented(apply: (t: number, z: T) => T, layout: AugmentedLayout, t: number, y: T): tf.Tensor2D {
  const { dim: D, regs, trace } = layout;
  const hutch = trace === 'hutchinson';
  const width = augmentedWidth(layout);
  return tf.tidy(() => {
    const B = y.shape[1]!;
    const z = tf.transpose(tf.slice(y, [0, 0], [D, B]));
    let f: T | null = null;
    const cols: T[] = [];
    let jac: T | null = null;
    if (hutch) {
      const probe = tf.transpose(tf.slice(y, [width - D, 0], [D, B]));
      const vjp = tf.grad((zz: T) => {
        f = tf.keep(apply(t, zz));
        return tf.sum(tf.mul(f, probe));
      })(z);
      cols.push(f!, tf.sum(tf.mul(vjp, probe), 1, true));
      if (regs) {
        // J·ε = ∂/∂v ⟨vᵀJ, ε⟩, a VJP of a VJP.
        const jvp = tf.grad((v: T) => tf.sum(tf.mul(tf.grad((zz: T) => tf.sum(tf.mul(apply(t, zz), v)))(z), probe)))(tf.zerosLike(z));
        jac = tf.sum(tf.square(jvp), 1, true);
      }
    } else {
      const rows = tf.tile(z, [D, 1]);
      const E = tf.reshape(tf.tile(tf.reshape(tf.eye(D), [D, 1, D]), [1, B, 1]), [D * B, D]);
      const g = tf.grad((zz: T) => {
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
    return tf.transpose(tf.concat(cols, 1)) as tf.Tensor2D;
  });
}
