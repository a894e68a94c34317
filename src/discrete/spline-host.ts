/**
 * The rational-quadratic spline of one component (Durkan et al., arXiv:1906.04032) as host
 * arithmetic in float64 for the fused spline coupling: the knots from the conditioner's 3K − 1
 * raw numbers, the bin search and the spline in one pass, and its closed-form derivatives. The
 * same map as spline.ts's taped form: widths and heights 2B·(m + (1 − mK)·softmax), interior knot
 * derivatives {@link knotSlope} of their raw numbers, 1 at ±B (linear tails of slope 1 outside [−B, B]).
 */

/** Smallest bin width/height fraction (spline.ts's constant). */
export const MIN_BIN = 1e-3;
/** Knot derivatives lie in (MIN_SLOPE, 1 / MIN_SLOPE). */
export const MIN_SLOPE = 1e-3;
/** −log MIN_SLOPE: the bound of the soft-clipped log-derivative. */
export const LOG_SLOPE_BOUND = -Math.log(MIN_SLOPE);

/**
 * An interior knot's derivative from its raw number u: exp(u / (1 + |u|/A)), A = −log MIN_SLOPE
 * (zuko's parameterisation). In the log domain a steep knot (slope 50 for a posterior 50 times
 * narrower than the prior) is u ≈ 9, where m + softplus(u) needed u ≈ 50; and u = 0 is slope 1,
 * so a zero-initialised conditioner starts the spline as the identity (softplus gave 0.69).
 */
export function knotSlope(u: number): number {
  return Math.exp(u / (1 + Math.abs(u) / LOG_SLOPE_BOUND));
}

/** d knotSlope / du = knotSlope(u) / (1 + |u|/A)². */
function knotSlopeGrad(u: number): number {
  const q = 1 + Math.abs(u) / LOG_SLOPE_BOUND;
  return Math.exp(u / q) / (q * q);
}

/** Per-call scratch of one component's knots. */
export interface SplineScratch {
  pw: Float64Array;
  ph: Float64Array;
  W: Float64Array;
  H: Float64Array;
  bar: Float64Array;
}

export const splineScratch = (K: number): SplineScratch => ({ pw: new Float64Array(K), ph: new Float64Array(K), W: new Float64Array(K), H: new Float64Array(K), bar: new Float64Array(K) });

function softmax(o: ArrayLike<number>, at: number, K: number, p: Float64Array): void {
  let max = -Infinity;
  for (let k = 0; k < K; k++) max = Math.max(max, o[at + k]!);
  let sum = 0;
  for (let k = 0; k < K; k++) sum += p[k] = Math.exp(o[at + k]! - max);
  for (let k = 0; k < K; k++) p[k]! /= sum;
}


/** The bin of v (by the x-edges) and its knots: left edges, width, height, knot derivatives. */
export interface Bin {
  b: number;
  cw: number;
  w: number;
  ch: number;
  h: number;
  d0: number;
  d1: number;
}

/** Knots from the raw numbers o[at … at + 3K − 1) and the bin holding v ∈ [−B, B]. */
export function binOf(o: ArrayLike<number>, at: number, K: number, B: number, v: number, s: SplineScratch): Bin {
  softmax(o, at, K, s.pw);
  softmax(o, at + K, K, s.ph);
  let b = 0;
  let cw = -B;
  let ch = -B;
  for (let k = 0; k < K; k++) {
    s.W[k] = 2 * B * (MIN_BIN + (1 - MIN_BIN * K) * s.pw[k]!);
    s.H[k] = 2 * B * (MIN_BIN + (1 - MIN_BIN * K) * s.ph[k]!);
  }
  // Interior left edges at or below v count the bin index (spline.ts's binOf).
  while (b + 1 < K && cw + s.W[b]! <= v) {
    cw += s.W[b]!;
    ch += s.H[b]!;
    b++;
  }
  return { b, cw, w: s.W[b]!, ch, h: s.H[b]!, d0: knotDerivative(o, at, K, b), d1: knotDerivative(o, at, K, b + 1) };
}

/** The derivative at knot k: 1 at the ends, {@link knotSlope} of its raw number inside. */
function knotDerivative(o: ArrayLike<number>, at: number, K: number, k: number): number {
  return k === 0 || k === K ? 1 : knotSlope(o[at + 2 * K + k - 1]!);
}

/**
 * Cotangents of the raw widths (or heights) at `from` from those of the bin's left edge (every
 * bin left of b) and of its own size: through W = 2B(m + (1 − mK)·softmax) with probabilities p.
 */
function sizesBack(p: Float64Array, bar: Float64Array, b: number, leftBar: number, ownBar: number, oBar: Float32Array, from: number, K: number, B: number): void {
  let dot = 0;
  for (let k = 0; k < K; k++) {
    bar[k] = k < b ? leftBar : k === b ? ownBar : 0;
    dot += p[k]! * bar[k]!;
  }
  const f = 2 * B * (1 - MIN_BIN * K);
  for (let k = 0; k < K; k++) oBar[from + k] = f * p[k]! * (bar[k]! - dot);
}

/** y and log dy/dx of the spline at v inside [−B, B] (Durkan et al., eqs. 4–5). */
export function rqForward(v: number, q: Bin): { y: number; logSlope: number } {
  const th = (v - q.cw) / q.w;
  const s = q.h / q.w;
  const tt = th * (1 - th);
  const den = s + (q.d1 + q.d0 - 2 * s) * tt;
  const M = q.d1 * th * th + 2 * s * tt + q.d0 * (1 - th) * (1 - th);
  return { y: q.ch + (q.h * (s * th * th + q.d0 * tt)) / den, logSlope: Math.log(s * s * M) - 2 * Math.log(den) };
}

/**
 * The cotangents of v and of the raw numbers (added into oBar at `at`) from ȳ = g and the
 * log-det's λ, through the bin's knots, the cumulative edges, the softmaxes and the knot slopes.
 */
export function rqBackward(v: number, q: Bin, g: number, lambda: number, o: ArrayLike<number>, oBar: Float32Array, at: number, K: number, B: number, s: SplineScratch): number {
  const th = (v - q.cw) / q.w;
  const sl = q.h / q.w;
  const tt = th * (1 - th);
  const k2 = q.d1 + q.d0 - 2 * sl;
  const den = sl + k2 * tt;
  const N = sl * th * th + q.d0 * tt;
  const M = q.d1 * th * th + 2 * sl * tt + q.d0 * (1 - th) * (1 - th);
  const hd2 = q.h / (den * den);
  const denTh = k2 * (1 - 2 * th);
  // Partials of y and of ℓ = log dy/dx in θ, s, d0, d1.
  const yTh = hd2 * ((2 * sl * th + q.d0 * (1 - 2 * th)) * den - N * denTh);
  const ySl = hd2 * (th * th * den - N * (1 - 2 * tt));
  const yD0 = hd2 * tt * (den - N);
  const yD1 = -hd2 * N * tt;
  const lTh = (2 * q.d1 * th + 2 * sl * (1 - 2 * th) - 2 * q.d0 * (1 - th)) / M - (2 * denTh) / den;
  const lSl = 2 / sl + (2 * tt) / M - (2 * (1 - 2 * tt)) / den;
  const lD0 = ((1 - th) * (1 - th)) / M - (2 * tt) / den;
  const lD1 = (th * th) / M - (2 * tt) / den;
  const thBar = g * yTh + lambda * lTh;
  const slBar = g * ySl + lambda * lSl;
  // θ = (v − cw)/w, s = h/w; y = ch + …
  const hBar = (g * N) / den + slBar / q.w;
  const cwBar = -thBar / q.w;
  const wBar = (-thBar * th) / q.w - (slBar * sl) / q.w;
  // cw = −B + Σ_{k<b} W_k, w = W_b (heights alike: ch̄ = ȳ).
  sizesBack(s.pw, s.bar, q.b, cwBar, wBar, oBar, at, K, B);
  sizesBack(s.ph, s.bar, q.b, g, hBar, oBar, at + K, K, B);
  // The knot derivatives d_b, d_{b+1} (interior ones: knotSlope(u)).
  const d = at + 2 * K - 1;
  oBar.fill(0, d + 1, d + K);
  if (q.b > 0) oBar[d + q.b] = (g * yD0 + lambda * lD0) * knotSlopeGrad(o[d + q.b]!);
  if (q.b + 1 < K) oBar[d + q.b + 1] = (g * yD1 + lambda * lD1) * knotSlopeGrad(o[d + q.b + 1]!);
  return thBar / q.w;
}
