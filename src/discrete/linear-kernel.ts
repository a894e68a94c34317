/**
 * Glow's ActNorm (and NICE's diagonal scaling, ActNorm without shift) and the LU-parametrised
 * linear map as fused ops (fused-op.ts): one engine kernel
 * forward and one backward each, host loops over [N, D] (and D × D) where the taped blocks ran
 * some 30 (ActNorm) and 60 (LU) engine kernels per training iteration, each with its engine
 * bookkeeping, for a handful of arithmetic per element.
 *
 *   ActNorm  y = (x + b) ⊙ eˢ,                       log-det Σ s
 *   LU       y = x_P · Wᵀ, W = L · (U + diag eˢ),     log-det Σ s
 * with x_P = x[:, perm], L unit lower triangular (the strict lower part of `lower`), U the strict
 * upper part of `upper`. Gradients: for ActNorm x̄ = ȳ ⊙ eˢ, b̄ = Σ_rows ȳ ⊙ eˢ, s̄ = Σ_rows ȳ ⊙ y +
 * Σ l̄; for LU x̄_P = ȳ·W, W̄ = ȳᵀ·x_P, L̄ = W̄·U′ᵀ (strict lower part), Ū′ = Lᵀ·W̄ (U′ = U + diag eˢ:
 * its strict upper part for U, its diagonal ⊙ eˢ + Σ l̄ for s).
 */
import { tf } from '../backend/engine.js';
import type { HostBuffers } from '../backend/kernels.js';
import { registerFusedOp } from './fused-op.js';
import type { FusedOp } from './fused-op.js';

type T = tf.TensorInfo;

const ACTNORM = 'BiflowActNorm';
const LU = 'BiflowLULinear';
const DIAGONAL = 'BiflowDiagonalScaling';
const refusal = (what: string, fix: string) => `${what}: a gradient of a gradient through the fused op is not supported. Set \`fused = false\` on the ${fix} (the taped path) to take one.`;

/** Σ s as a log-det per row ([N], every row the same). */
function constantLogDet(host: HostBuffers, rows: number, s: Float32Array): T {
  const out = host.alloc([rows]);
  let sum = 0;
  for (let j = 0; j < s.length; j++) sum += s[j]!;
  host.view(out).fill(sum);
  return out;
}

/** Σ_rows l̄. */
function sumOf(v: Float32Array): number {
  let sum = 0;
  for (let k = 0; k < v.length; k++) sum += v[k]!;
  return sum;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  const actNorm: FusedOp<Record<string, never>> = {
    name: ACTNORM,
    inputs: ['x', 'b', 's'],
    outputsToSave: [true, false],
    forward: (_r, host, { x, b, s }) => {
      const [N, D] = x!.shape as [number, number];
      const y = host.alloc([N, D]);
      const logDet = constantLogDet(host, N, host.view(s!));
      const [xv, bv, sv, yv] = [host.view(x!), host.view(b!), host.view(s!), host.view(y)];
      const e = Float64Array.from(sv, Math.exp);
      for (let k = 0, j = 0; k < xv.length; k++, j = j + 1 === D ? 0 : j + 1) yv[k] = (xv[k]! + bv[j]!) * e[j]!;
      return [y, logDet];
    },
    backward: (_r, host, [yBar, lBar], [x, , s, y]) => {
      const [N, D] = x!.shape as [number, number];
      const [xBar, bBar, sBar] = [host.alloc([N, D]), host.alloc([D]), host.alloc([D])];
      const [gv, lv, sv, yv, xb] = [host.view(yBar!), host.view(lBar!), host.view(s!), host.view(y!), host.view(xBar)];
      const e = Float64Array.from(sv, Math.exp);
      const [gb, gs] = [new Float64Array(D), new Float64Array(D).fill(sumOf(lv))];
      for (let k = 0, j = 0; k < gv.length; k++, j = j + 1 === D ? 0 : j + 1) {
        const g = gv[k]!;
        xb[k] = g * e[j]!;
        gb[j] += g;
        gs[j] += g * yv[k]!;
      }
      host.view(bBar).set(gb.map((v, j) => v * e[j]!));
      host.view(sBar).set(gs);
      return [xBar, bBar, sBar];
    },
    refusal: refusal('ActNorm', 'ActNorm'),
  };
  registerFusedOp(actNorm);
  // NICE's diagonal scaling y = x ⊙ eˢ is ActNorm with a zero shift: the same kernel under its own name (and refusal).
  registerFusedOp({ ...actNorm, name: DIAGONAL, refusal: refusal('DiagonalScaling', 'DiagonalScaling') });
  registerFusedOp<{ perm: number[] }>({
    name: LU,
    inputs: ['x', 'lower', 'upper', 's'],
    outputsToSave: [false, false],
    forward: (_r, host, { x, lower, upper, s }, { perm }) => {
      const [N, D] = x!.shape as [number, number];
      const y = host.alloc([N, D]);
      const logDet = constantLogDet(host, N, host.view(s!));
      const { W } = factors(host, lower!, upper!, s!);
      const [xv, yv] = [host.view(x!), host.view(y)];
      const xp = new Float64Array(D);
      for (let r = 0; r < N; r++) {
        for (let k = 0; k < D; k++) xp[k] = xv[r * D + perm[k]!]!;
        for (let i = 0; i < D; i++) {
          let acc = 0;
          for (let k = 0; k < D; k++) acc += xp[k]! * W[i * D + k]!;
          yv[r * D + i] = acc;
        }
      }
      return [y, logDet];
    },
    backward: (_r, host, [yBar, lBar], [x, lower, upper, s], { perm }) => {
      const [N, D] = x!.shape as [number, number];
      const [xBar, lowerBar, upperBar, sBar] = [host.alloc([N, D]), host.alloc([D, D]), host.alloc([D, D]), host.alloc([D])];
      const { L, U, W, e } = factors(host, lower!, upper!, s!);
      const [xv, gv, xb] = [host.view(x!), host.view(yBar!), host.view(xBar)];
      const Wb = new Float64Array(D * D);
      for (let r = 0; r < N; r++) {
        const at = r * D;
        // x̄_P = ȳ·W, scattered back through the permutation; W̄ += ȳᵀ·x_P.
        for (let k = 0; k < D; k++) {
          let acc = 0;
          for (let i = 0; i < D; i++) acc += gv[at + i]! * W[i * D + k]!;
          xb[at + perm[k]!] = acc;
        }
        for (let i = 0; i < D; i++) {
          const g = gv[at + i]!;
          for (let k = 0; k < D; k++) Wb[i * D + k] += g * xv[at + perm[k]!]!;
        }
      }
      const [lb, ub, sb] = [host.view(lowerBar), host.view(upperBar), host.view(sBar)];
      const lSum = sumOf(host.view(lBar!));
      for (let i = 0; i < D; i++) {
        for (let j = 0; j < D; j++) {
          // L̄ = W̄·Uᵀ′ below the diagonal; Ū′ = Lᵀ·W̄ on and above it.
          let acc = 0;
          if (j < i) for (let k = j; k < D; k++) acc += Wb[i * D + k]! * U[j * D + k]!;
          else for (let k = i; k < D; k++) acc += L[k * D + i]! * Wb[k * D + j]!;
          lb[i * D + j] = j < i ? acc : 0;
          ub[i * D + j] = j > i ? acc : 0;
          if (i === j) sb[i] = acc * e[i]! + lSum;
        }
      }
      return [xBar, lowerBar, upperBar, sBar];
    },
    refusal: refusal('LULinear', 'LULinear'),
  });
}

/** L (unit lower), U′ = U + diag eˢ (upper) and W = L·U′, row-major D × D in float64, and eˢ. */
function factors(host: HostBuffers, lower: T, upper: T, s: T): { L: Float64Array; U: Float64Array; W: Float64Array; e: Float64Array } {
  const D = s.shape[0]!;
  const [lv, uv] = [host.view(lower), host.view(upper)];
  const e = Float64Array.from(host.view(s), Math.exp);
  const [L, U, W] = [new Float64Array(D * D), new Float64Array(D * D), new Float64Array(D * D)];
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < D; j++) {
      L[i * D + j] = j < i ? lv[i * D + j]! : i === j ? 1 : 0;
      U[i * D + j] = j > i ? uv[i * D + j]! : i === j ? e[i]! : 0;
    }
  }
  for (let i = 0; i < D; i++) for (let k = 0; k <= i; k++) for (let j = k; j < D; j++) W[i * D + j] += L[i * D + k]! * U[k * D + j]!;
  return { L, U, W, e };
}

/** ActNorm's forward as one kernel: y = (x + b) ⊙ eˢ and the log-det Σ s per row. Call only where `fusedOpsAvailable()`. */
export function fusedActNorm(x: tf.Tensor2D, b: tf.Tensor1D, s: tf.Tensor1D): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
  register();
  const [y, logDet] = tf.engine().runKernel(ACTNORM, { x, b, s }, {}) as [tf.Tensor2D, tf.Tensor1D];
  return { y, logDet };
}

/** NICE's diagonal scaling as one kernel: y = x ⊙ eˢ and the log-det Σ s per row, `zero` a [D] tensor of zeros (ActNorm's shift). Call only where `fusedOpsAvailable()`. */
export function fusedDiagonalScaling(x: tf.Tensor2D, zero: tf.Tensor1D, s: tf.Tensor1D): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
  register();
  const [y, logDet] = tf.engine().runKernel(DIAGONAL, { x, b: zero, s }, {}) as [tf.Tensor2D, tf.Tensor1D];
  return { y, logDet };
}

/** The LU linear map's forward as one kernel: y = x[:, perm]·Wᵀ and the log-det Σ s per row. Call only where `fusedOpsAvailable()`. */
export function fusedLULinear(x: tf.Tensor2D, lower: tf.Tensor2D, upper: tf.Tensor2D, s: tf.Tensor1D, perm: readonly number[]): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
  register();
  const [y, logDet] = tf.engine().runKernel(LU, { x, lower, upper, s }, { perm: [...perm] } as unknown as tf.NamedAttrMap) as [tf.Tensor2D, tf.Tensor1D];
  return { y, logDet };
}
