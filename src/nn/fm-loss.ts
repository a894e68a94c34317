/**
 * The flow-matching loss of an {@link ODENet} field as one op with a closed-form backward pass:
 *   L = (1/B) Σ_b ‖f(t_b, x_b) − u_b‖²,
 * with a time per row. Taped, tfjs records a dozen engine ops per layer and differentiates each
 * (broadcast reductions, the activations' recomputed gradients); here the forward pass and the
 * parameter gradient run as backend kernels through a KernelRunner (no engine bookkeeping per
 * step), the gradient computed with the loss while a gradient is being recorded and handed to the
 * tape as saved tensors.
 *
 * Per layer, with the time column t [B, 1] (the layer kinds of odenet.ts, per row):
 *   concatsquash  a = (hW + b) ⊙ σ(t·w_g + b_g) + t·w_b      squash  the same without t·w_b
 *   concat        a = [h, t]·W + b                            ignore  a = hW + b
 *   hyper         a = (hW) ⊙ (1 + tanh(t·w_h)) + b
 * then h' = σ(a) between layers, by the activations' kernel definitions in layer-kernels.ts (`JETS`),
 * whose σ′ the backward pass reuses: ā_{l−1} = (ā_l-side h̄) ⊙ σ′(a_{l−1}).
 *
 * Gradients of the gradient (a Hessian through the loss) are taken on the taped reference.
 */
import { tf } from '../backend/engine.js';
import { hostTranspose } from '../backend/host-ops.js';
import { KernelRunner } from '../backend/kernels.js';
import { engineState, isTapedOp } from '../backend/tape.js';
import { gradsOf } from '../ode/gradients.js';
import { JETS } from './layer-kernels.js';
import { fmHost } from './fm-host.js';
import type { FusedNet } from './fused-field.js';

type T = tf.TensorInfo;

/** What the backward pass needs of one layer's forward pass. */
interface Saved {
  /** The layer's input (for concat: [h, t]). */
  h: T;
  /** concatsquash/squash: the gate g and the pre-gate product p; hyper: g = tanh(…), the scale c = 1 + g and p. */
  g: T | null;
  c: T | null;
  p: T | null;
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
  const B = x.shape[0];
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as (ts: tf.Tensor[]) => void;
    const [x, t, u] = args as tf.Tensor2D[];
    const r = KernelRunner.create()!;
    try {
      // On wasm, the reductions, transposes and gated layers' elementwise steps run on the heap.
      const host = r.host();
      const hx = host ? fmHost(host) : null;
      const saved: Saved[] = [];
      let h: T = x;
      layers.forEach((p, l) => {
        const W = p[0]!;
        const b = p[1]!;
        const s: Saved = { h, g: null, c: null, p: null, d1: null };
        let a: T;
        switch (kind) {
          case 'ignore':
            a = r.matMul(h, W, b);
            break;
          case 'concat':
            s.h = r.concat([h, t], 1);
            a = r.matMul(s.h, W, b);
            break;
          case 'squash':
          case 'concatsquash': {
            s.p = r.matMul(h, W, b);
            if (hx) {
              const gated = hx.gate(s.p, t, p[2]!, p[3]!, kind === 'concatsquash' ? p[4]! : null);
              s.g = gated.g;
              a = gated.a;
              break;
            }
            s.g = r.sigmoid(r.add(r.mul(t, p[2]!), p[3]!));
            a = r.mul(s.p, s.g);
            if (kind === 'concatsquash') a = r.add(a, r.mul(t, p[4]!));
            break;
          }
          case 'hyper':
            s.p = r.matMul(h, W);
            s.g = r.tanh(r.mul(t, p[2]!));
            s.c = r.add(s.g, 1);
            a = r.add(r.mul(s.p, s.c), b);
            break;
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
        const grads = backward(r, hx, saved, t, aBar).map((g) => r.keep(g));
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
  function backward(r: KernelRunner, hx: ReturnType<typeof fmHost> | null, saved: Saved[], t: T, aBar: T): T[] {
    const out: T[][] = [];
    const uBar = r.mul(aBar, -1);
    // t̄ [B, 1]: Σ over units of ā ⊙ ∂a/∂t, layer by layer.
    let tBar: T = r.zeros([B, 1]);
    const addT = (v: T) => {
      tBar = r.add(tBar, r.reshape(r.sum(v, 1), [B, 1]));
    };
    const colSum = (v: T) => (hx ? hx.colSum(v) : r.sum(v, 0));
    const host = r.host();
    const transpose = (v: T) => (host ? hostTranspose(host, v) : r.transpose(v));
    const row = (v: T) => r.reshape(colSum(v), [1, -1]);
    // hᵀ·ā as a product with the narrow operand on the right (tfjs-wasm packs the right one).
    const outer = (a: T, b: T): T => (a.shape[1]! < b.shape[1]! ? transpose(r.matMul(transpose(b), a)) : r.matMul(transpose(a), b));
    for (let l = saved.length - 1; l >= 0; l--) {
      const s = saved[l]!;
      const p = layers[l]! as readonly T[];
      const W = p[0]!;
      let pBar = aBar;
      const extra: T[] = [];
      let db: T;
      if (hx && (kind === 'squash' || kind === 'concatsquash')) {
        const back = hx.gateBack(aBar, s.g!, s.p!, t, p[2]!, kind === 'concatsquash' ? p[4]! : null, tBar);
        pBar = back.pBar;
        [db] = back.grads as [T];
        extra.push(...back.grads.slice(1));
      } else if (kind === 'squash' || kind === 'concatsquash') {
        // a = p ⊙ g (+ t·w_b): p̄ = ā ⊙ g, and through the gate σ(t·w_g + b_g): ā ⊙ p ⊙ g(1 − g).
        pBar = r.mul(aBar, s.g!);
        const q = r.mul(r.mul(aBar, s.p!), r.mul(s.g!, r.sub(1, s.g!)));
        db = colSum(pBar);
        extra.push(row(r.mul(q, t)), colSum(q));
        addT(r.mul(q, p[2]!));
        if (kind === 'concatsquash') {
          extra.push(row(r.mul(aBar, t)));
          addT(r.mul(aBar, p[4]!));
        }
      } else if (kind === 'hyper') {
        // a = p ⊙ c + b, c = 1 + tanh(t·w_h): p̄ = ā ⊙ c; c̄ = Σ_units ā ⊙ p, through tanh: (1 − tanh²).
        pBar = r.mul(aBar, s.c!);
        const cBar = r.mul(r.reshape(r.sum(r.mul(aBar, s.p!), 1), [B, 1]), r.sub(1, r.square(s.g!)));
        extra.push(r.reshape(r.sum(r.mul(cBar, t)), [1, 1]));
        addT(r.mul(cBar, p[2]!));
        db = colSum(aBar);
      } else if (kind === 'concat') {
        // The last row of W multiplies t.
        addT(r.mul(aBar, r.slice(W, [W.shape[0]! - 1, 0], [1, W.shape[1]!])));
        db = colSum(aBar);
      } else db = colSum(aBar);
      out[l] = [outer(s.h, pBar), db, ...extra];
      // h̄ = p̄·Wᵀ (concat: without W's time row), then (hidden layers) through the activation: ⊙ σ′.
      const Win = kind === 'concat' ? r.slice(W, [0, 0], [W.shape[0]! - 1, W.shape[1]!]) : W;
      const hBar = r.matMul(pBar, transpose(Win));
      if (l === 0) return [hBar, tBar, uBar, ...out.flat()];
      aBar = r.mul(hBar, saved[l - 1]!.d1!);
    }
    throw new Error('unreachable: a net has at least one layer');
  }

  return op(x, t, u, ...variables) as tf.Scalar;
}
