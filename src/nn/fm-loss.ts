/**
 * The flow-matching loss of an {@link ODENet} field as one op with a closed-form backward pass:
 *   L = (1/B) Σ_b ‖f(t_b, x_b) − u_b‖²,
 * with a time per row. Taped, tfjs records a dozen engine ops per layer and differentiates each
 * (broadcast reductions, the activations' recomputed gradients); here the forward pass and the
 * parameter gradient run as backend kernels through a KernelRunner (no engine bookkeeping per
 * step), the gradient computed with the loss while a gradient is being recorded and handed to the
 * tape as saved tensors.
 *
 * Per layer, with the time column t [B, 1]: a = p⊙S(t) + Sh(t) with p = h·W, the layer kind's
 * one definition (layer-defs.ts) per row, backwards by its derivatives (layer-derivs.ts); then
 * h' = σ(a) between layers, by the activations' kernel definitions in layer-kernels.ts (`JETS`),
 * whose σ′ the backward pass reuses: ā_{l−1} = (ā_l-side h̄) ⊙ σ′(a_{l−1}).
 *
 * Gradients of the gradient (a Hessian through the loss) are taken on the taped reference.
 */
import { tf } from '../backend/engine.js';
import { hostTranspose } from '../backend/host-ops.js';
import { KernelRunner } from '../backend/kernels.js';
import { engineState, isTapedOp } from '../backend/tape.js';
import { gradsOf } from '../ode/gradients.js';
import { asTensor, layerGradList, reduceTo, runExprs } from './expr-kernels.js';
import { LAYER_DERIVS } from './layer-derivs.js';
import { JETS, layerParts } from './layer-kernels.js';
import type { LayerParts } from './layer-kernels.js';
import { isZero } from './symbolic.js';
import { fmHost } from './fm-host.js';
import { generatesLoops } from './host-loops.js';
import type { FusedNet } from './fused-field.js';

type T = tf.TensorInfo;

/** What the backward pass needs of one layer's forward pass. */
interface Saved {
  /** The layer's input. */
  h: T;
  /** p = h·W (null where the bias was fused into the product: the kind has no scale and its shift is b). */
  p: T | null;
  /** The scale S per row (kinds with one). */
  S: T | null;
  /** σ′ of this layer's output (hidden layers). */
  d1: T | null;
}

/** The taped loss at (t, x, u): the fallback and the higher-order reference. */
export type FlowMatchingReference = (t: tf.Tensor2D, x: tf.Tensor2D, u: tf.Tensor2D) => tf.Scalar;

/**
 * The FM loss of the net's field at the rows (t [B, 1], x [B, D]) against the targets u [B, D];
 * `reference` computes the same loss on the tape (used where no kernel runner exists and for
 * gradients of the gradient).
 */
export function fusedFlowMatchingLoss(net: FusedNet, t: tf.Tensor2D, x: tf.Tensor2D, u: tf.Tensor2D, reference: FlowMatchingReference): tf.Scalar {
  if (!KernelRunner.available()) return reference(t, x, u);
  const { kind, activation, layers } = net;
  const variables = layers.flat() as tf.Tensor[];
  const act = JETS[activation];
  const derivs = LAYER_DERIVS[kind];
  const B = x.shape[0];
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as (ts: tf.Tensor[]) => void;
    const [x, t, u] = args as tf.Tensor2D[];
    const r = KernelRunner.create()!;
    try {
      // On wasm, the reductions, transposes and each layer's time dependence run on the heap.
      const host = r.host();
      const hx = host && generatesLoops() ? fmHost(host) : null;
      const saved: Saved[] = [];
      const parts = layers.map((p) => layerParts(r, kind, p as readonly T[]));
      let h: T = x;
      parts.forEach(({ W, b, q }, l) => {
        const s: Saved = { h, p: null, S: null, d1: null };
        let a: T;
        if (derivs.plain) a = r.matMul(h, W, b);
        else {
          s.p = r.matMul(h, W);
          if (hx) ({ a, S: s.S } = hx.layerForward(derivs, s.p, t, b, q));
          else {
            const [S] = derivs.scale ? runExprs(r, [derivs.scale], { t, ...q }) : [null];
            s.S = S === null ? null : asTensor(r, S, [B, 1]);
            a = asTensor(r, runExprs(r, [derivs.output], { t, b, p: s.p, ...(s.S ? { S: s.S } : {}), ...q })[0]!, s.p.shape);
          }
        }
        if (l + 1 < layers.length) {
          const j = act.jet(r, a);
          s.d1 = j.d1;
          h = j.h;
        } else h = a;
        saved.push(s);
      });
      let loss: T;
      let aBar: T;
      if (hx) ({ loss, aBar } = hx.loss(h, u));
      else {
        const res = r.sub(h, u);
        loss = r.mul(r.sum(r.square(res)), 1 / B);
        aBar = r.mul(res, 2 / B);
      }
      if (isTapedOp()) {
        // Recorded for a backward pass: the gradient now, while the forward buffers are at hand.
        const grads = backward(r, hx, saved, parts, t, aBar).map((g) => r.keep(g));
        save([x, t, u, ...grads]);
        tf.dispose(grads);
      }
      return {
        value: r.keep(loss),
        gradFunc: (dy: tf.Tensor, kept: tf.Tensor[]): tf.Tensor[] => {
          const [xs, ts, us] = kept as tf.Tensor2D[];
          // A gradient of this gradient: the taped reference, on the saved inputs.
          if (engineState().gradientDepth > 0) return gradsOf(() => tf.mul(reference(ts!, xs!, us!), dy), [xs!, ts!, us!, ...variables]);
          return kept.slice(3).map((g) => tf.mul(g, dy));
        },
      };
    } finally {
      r.free();
    }
  });

  /** The gradients of x, t, u, then of the variables layer by layer in the net's order, from ā = 2(f − u)/B. */
  function backward(r: KernelRunner, hx: ReturnType<typeof fmHost> | null, saved: Saved[], parts: LayerParts[], t: T, aBar: T): T[] {
    const out: T[][] = [];
    const uBar = r.mul(aBar, -1);
    // t̄ [B, 1]: Σ over units of ā ⊙ ∂a/∂t, layer by layer.
    let tBar: T = r.zeros([B, 1]);
    const host = r.host();
    const transpose = (v: T) => (host ? hostTranspose(host, v) : r.transpose(v));
    // hᵀ·ā as a product with the narrow operand on the right (tfjs-wasm packs the right one).
    const outer = (a: T, b: T): T => (a.shape[1]! < b.shape[1]! ? transpose(r.matMul(transpose(b), a)) : r.matMul(transpose(a), b));
    const names = ['b', ...derivs.vars];
    const timeDependent = !isZero(derivs.rowGradT);
    for (let l = saved.length - 1; l >= 0; l--) {
      const s = saved[l]!;
      const { W, b, q } = parts[l]!;
      let pBar: T;
      let grads: Record<string, T>;
      if (hx) ({ pBar, grads } = hx.layerBackward(derivs, aBar, s.p, s.S, t, b, q, tBar));
      else {
        pBar = s.S ? r.mul(aBar, s.S) : aBar;
        const env = { t, b, aBar, ...(s.p ? { p: s.p } : {}), ...(s.S ? { S: s.S } : {}), ...q };
        const values = runExprs(r, [...names.map((k) => derivs.rowGrads[k]!), ...(timeDependent ? [derivs.rowGradT] : [])], env);
        grads = Object.fromEntries(names.map((k, i) => [k, reduceTo(r, values[i]!, [B, W.shape[1]!], k === 'b' ? b.shape : q[k]!.shape)]));
        if (timeDependent) tBar = r.add(tBar, r.reshape(r.sum(asTensor(r, values[names.length]!, [B, W.shape[1]!]), 1), [B, 1]));
      }
      out[l] = layerGradList(r, derivs, outer(s.h, pBar), grads);
      // h̄ = p̄·Wᵀ (W without its time row), then (hidden layers) through the activation: ⊙ σ′.
      const hBar = r.matMul(pBar, transpose(W));
      if (l === 0) return [hBar, tBar, uBar, ...out.flat()];
      aBar = r.mul(hBar, saved[l - 1]!.d1!);
    }
    throw new Error('unreachable: a net has at least one layer');
  }

  return op(x, t, u, ...variables) as tf.Scalar;
}
