/**
 * The FM loss op's arithmetic on host buffers (tfjs-wasm keeps tensors in its heap): where a
 * kernel call on a [B, n] tensor costs more than the work — column sums (tfjs-wasm transposes
 * before reducing an axis) and the gated layers' elementwise steps, fused here into one loop
 * each (transposes: host-ops' hostTranspose). Every function allocates its outputs before it takes views (an allocation may
 * grow the heap, which detaches older views).
 */
import type { tf } from '../backend/engine.js';
import type { HostBuffers } from '../backend/kernels.js';

type T = tf.TensorInfo;

/** Host kernels for the FM loss op. */
export function fmHost(host: HostBuffers) {
  return {
    /** Σ over rows: [m, n] → [n]. */
    colSum(x: T): T {
      const [m, n] = x.shape as [number, number];
      const out = host.alloc([n]);
      const [a, o] = [host.view(x), host.view(out)];
      const acc = new Float64Array(n);
      for (let i = 0, k = 0; i < m; i++) for (let j = 0; j < n; j++, k++) acc[j] += a[k]!;
      o.set(acc);
      return out;
    },

    /** The loss Σ‖f − u‖²/B and its cotangent ā = 2(f − u)/B. */
    loss(f: T, u: T): { loss: T; aBar: T } {
      const B = f.shape[0]!;
      const [loss, aBar] = [host.alloc([]), host.alloc(f.shape)];
      const [fv, uv, lv, av] = [host.view(f), host.view(u), host.view(loss), host.view(aBar)];
      let sum = 0;
      for (let k = 0; k < fv.length; k++) {
        const e = fv[k]! - uv[k]!;
        sum += e * e;
        av[k] = (2 * e) / B;
      }
      lv[0] = sum / B;
      return { loss, aBar };
    },

    /** A gated layer: g = σ(t·w_g + b_g), a = p ⊙ g (+ t·w_b), per row b and unit j. */
    gate(p: T, t: T, wg: T, bg: T, wb: T | null): { g: T; a: T } {
      const [B, n] = p.shape as [number, number];
      const [g, a] = [host.alloc([B, n]), host.alloc([B, n])];
      const [pv, tv, wgv, bgv, gv, av] = [host.view(p), host.view(t), host.view(wg), host.view(bg), host.view(g), host.view(a)];
      const wbv = wb ? host.view(wb) : null;
      for (let b = 0, k = 0; b < B; b++) {
        const tb = tv[b]!;
        for (let j = 0; j < n; j++, k++) {
          const gj = 1 / (1 + Math.exp(-(tb * wgv[j]! + bgv[j]!)));
          gv[k] = gj;
          av[k] = pv[k]! * gj + (wbv ? tb * wbv[j]! : 0);
        }
      }
      return { g, a };
    },

    /**
     * The gated layer backwards from ā: p̄ = ā ⊙ g, the gradients of b, w_g, b_g (and w_b), and
     * t̄ += Σ_j ā ⊙ ∂a/∂t (into `tBar`, a [B, 1] host buffer).
     */
    gateBack(aBar: T, g: T, p: T, t: T, wg: T, wb: T | null, tBar: T): { pBar: T; grads: T[] } {
      const [B, n] = aBar.shape as [number, number];
      const outs = [host.alloc([B, n]), host.alloc([n]), host.alloc([1, n]), host.alloc([n]), ...(wb ? [host.alloc([1, n])] : [])];
      const [abv, gv, pv, tv, wgv, tbv] = [host.view(aBar), host.view(g), host.view(p), host.view(t), host.view(wg), host.view(tBar)];
      const wbv = wb ? host.view(wb) : null;
      const [pBar, db, dwg, dbg, dwb] = outs.map((x) => host.view(x));
      const acc = new Float64Array(4 * n);
      for (let b = 0, k = 0; b < B; b++) {
        const tb = tv[b]!;
        let dt = 0;
        for (let j = 0; j < n; j++, k++) {
          const ab = abv[k]!;
          const gj = gv[k]!;
          const pb = ab * gj;
          const q = ab * pv[k]! * gj * (1 - gj);
          pBar![k] = pb;
          acc[j] += pb;
          acc[n + j] += q * tb;
          acc[2 * n + j] += q;
          dt += q * wgv[j]!;
          if (wbv) {
            acc[3 * n + j] += ab * tb;
            dt += ab * wbv[j]!;
          }
        }
        tbv[b] += dt;
      }
      db!.set(acc.subarray(0, n));
      dwg!.set(acc.subarray(n, 2 * n));
      dbg!.set(acc.subarray(2 * n, 3 * n));
      dwb?.set(acc.subarray(3 * n));
      return { pBar: outs[0]!, grads: outs.slice(1) };
    },
  };
}
