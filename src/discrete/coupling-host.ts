/**
 * The fused couplings' elementwise steps as host loops over backend buffers (the wasm heap, the
 * cpu backend's arrays): the transform of the components x_B with its log-det, and its closed-form
 * backward pass, one loop each where the taped path ran a dozen kernels. Every function allocates
 * its outputs before it takes views (an allocation may grow the wasm heap, which detaches views).
 *
 * The conditioner's output o has `perComponent` columns per transformed component, grouped by
 * kind (all shifts, then all log-scales, …), as the taped couplings slice it:
 *   additive  y_b = x_b + o_j                                     log-det 0
 *   affine    s = c·tanh(o_j / c), y_b = x_b·eˢ + o_{n+j}         log-det Σ s
 *   spline    the rational-quadratic spline of spline-host.ts, its 3K − 1 numbers per component
 *             contiguous (o_{j(3K−1)} …), as spline.ts reshapes them; the identity outside [−B, B]
 * where b = `idx[j]` is the j-th transformed component and n the number of them.
 */
import type { tf } from '../backend/engine.js';
import type { HostBuffers } from '../backend/kernels.js';
import { binOf, rqBackward, rqForward, splineScratch } from './spline-host.js';

type T = tf.TensorInfo;

/** The transforms the fused coupling op knows. */
export type FusedTransform = 'additive' | 'affine' | 'spline';

/** A transform and its constants: the transformed components, the affine bound c, the spline's bins K and bound B. */
export interface TransformSpec {
  transform: FusedTransform;
  idx: number[];
  scaleBound: number;
  bins: number;
  bound: number;
}

/**
 * y (x with the components `idx` transformed) and the log-det per row; for the affine transform
 * also `scales` [N, 2n], per row s and eˢ of each component, which the backward pass reads instead
 * of evaluating tanh and exp again (≈ 50 µs a call at N = 1024).
 */
export function transformForward(host: HostBuffers, spec: TransformSpec, x: T, o: T): { y: T; logDet: T; scales?: T } {
  const { transform: kind, idx, scaleBound: c, bins: K, bound: B } = spec;
  const scratch = splineScratch(K);
  const [N, D] = x.shape as [number, number];
  const n = idx.length;
  const w = o.shape[1]!;
  const [y, logDet] = [host.alloc([N, D]), host.alloc([N])];
  const scales = kind === 'affine' ? host.alloc([N, 2 * n]) : undefined;
  const [xv, ov, yv, lv] = [host.view(x), host.view(o), host.view(y), host.view(logDet)];
  const sv = scales ? host.view(scales) : null;
  yv.set(xv);
  for (let r = 0; r < N; r++) {
    let ld = 0;
    for (let j = 0; j < n; j++) {
      const k = r * D + idx[j]!;
      if (kind === 'additive') {
        yv[k] = xv[k]! + ov[r * w + j]!;
        continue;
      }
      if (kind === 'spline') {
        // Inside [−B, B] the spline; outside the identity (log-det 0).
        const v = xv[k]!;
        if (!(Math.abs(v) <= B)) continue;
        const at = r * w + j * (3 * K - 1);
        const { y: yk, logSlope } = rqForward(v, binOf(ov, at, K, B, v, scratch));
        yv[k] = yk;
        ld += logSlope;
        continue;
      }
      const s = c * Math.tanh(ov[r * w + j]! / c);
      const e = Math.exp(s);
      yv[k] = xv[k]! * e + ov[r * w + n + j]!;
      sv![r * 2 * n + j] = s;
      sv![r * 2 * n + n + j] = e;
      ld += s;
    }
    lv[r] = ld;
  }
  return scales ? { y, logDet, scales } : { y, logDet };
}

/** The backward pass of {@link transformForward}: x̄ and ō from ȳ [N, D] and the log-det's cotangent l̄ [N] (`scales`: the forward's, for the affine transform). */
export function transformBackward(host: HostBuffers, spec: TransformSpec, yBar: T, lBar: T, x: T, o: T, scales?: T): { xBar: T; oBar: T } {
  const { transform: kind, idx, scaleBound: c, bins: K, bound: B } = spec;
  const scratch = splineScratch(K);
  const [N, D] = x.shape as [number, number];
  const n = idx.length;
  const w = o.shape[1]!;
  const [xBar, oBar] = [host.alloc([N, D]), host.alloc([N, w])];
  const [yb, lb, xv, ov, xb, ob] = [host.view(yBar), host.view(lBar), host.view(x), host.view(o), host.view(xBar), host.view(oBar)];
  const sv = scales ? host.view(scales) : null;
  // ∂y_a/∂x_a = I; the transformed components' entries are overwritten below.
  xb.set(yb);
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < n; j++) {
      const k = r * D + idx[j]!;
      const g = yb[k]!;
      if (kind === 'additive') {
        ob[r * w + j] = g;
        continue;
      }
      if (kind === 'spline') {
        const v = xv[k]!;
        const at = r * w + j * (3 * K - 1);
        if (!(Math.abs(v) <= B)) {
          ob.fill(0, at, at + 3 * K - 1); // the identity outside: x̄ = ȳ (set above), no parameter gradient
          continue;
        }
        xb[k] = rqBackward(v, binOf(ov, at, K, B, v, scratch), g, lb[r]!, ov, ob, at, K, B, scratch);
        continue;
      }
      // s = c·tanh(u/c): ∂s/∂u = 1 − (s/c)²; ∂y/∂x = eˢ, ∂y/∂s = x·eˢ, ∂y/∂t = 1, ∂log-det/∂s = 1.
      const s = sv ? sv[r * 2 * n + j]! : c * Math.tanh(ov[r * w + j]! / c);
      const e = sv ? sv[r * 2 * n + n + j]! : Math.exp(s);
      xb[k] = g * e;
      ob[r * w + j] = (g * xv[k]! * e + lb[r]!) * (1 - (s / c) * (s / c));
      ob[r * w + n + j] = g;
    }
  }
  return { xBar, oBar };
}
