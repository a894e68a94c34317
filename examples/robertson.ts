/**
 * The stiff sibling of examples/lotka-volterra.ts: Robertson's three rate constants (k₁, k₂, k₃)
 * = (0.04, 10⁴, 3·10⁷) fitted from noisy concentrations,
 *
 *   y₁′ = −k₁y₁ + k₂y₂y₃,  y₂′ = k₁y₁ − k₂y₂y₃ − k₃y₂²,  y₃′ = k₃y₂²,
 *
 * by L-BFGS on log k with exact float64 gradients from `adjointSensitivity({ method: 'rodas5' })`
 * (the interpolating adjoint: y comes from the forward dense output, since integrating a stiff y
 * backwards is unstable). Observations are log-spaced over t ∈ [10⁻⁵, 10³], with 2% multiplicative
 * noise, so the fast transient of y₂ (it sets k₃) and the slow decay of y₁ (k₁, k₂/k₃) both count.
 *
 * Reference: Robertson, "The solution of a set of reaction rate equations", in Numerical
 * Analysis: an Introduction (1966); Hairer, Wanner, Solving ODEs II, §IV.1.
 *
 *   npx tsx examples/robertson.ts [--quick] [--out out] [--seed 0]
 */
import { adjointSensitivity, odeint } from '../src/index.js';
import { rng } from '../src/data/index.js';
import { flag, isMain, lineChart, option, writePng } from './common.js';
import { lbfgs } from './lbfgs.js';

export const TRUE_RATES = [0.04, 1e4, 3e7];
const Y0 = [1, 0, 0];
const SIGMA = 0.02;
const TOL = { rtol: 1e-8, atol: 1e-14 };

const field = (_t: number, y: Float64Array, k: Float64Array): number[] => {
  const a = k[0]! * y[0]!;
  const b = k[1]! * y[1]! * y[2]!;
  const c = k[2]! * y[1]! * y[1]!;
  return [-a + b, a - b - c, c];
};
// aᵀ∂f/∂y and aᵀ∂f/∂k.
const vjp = (_t: number, y: Float64Array, k: Float64Array, a: Float64Array) => ({
  y: [
    k[0]! * (a[1]! - a[0]!),
    k[1]! * y[2]! * (a[0]! - a[1]!) + 2 * k[2]! * y[1]! * (a[2]! - a[1]!),
    k[1]! * y[1]! * (a[0]! - a[1]!),
  ],
  k: [y[0]! * (a[1]! - a[0]!), y[1]! * y[2]! * (a[0]! - a[1]!), y[1]! * y[1]! * (a[2]! - a[1]!)],
});

/** Observations y(tᵢ)·(1 + σε) at n log-spaced times in [10⁻⁵, 10³] (t = 0 first). */
export function observations(n: number, seed: number): { ts: number[]; obs: Float64Array[] } {
  const ts = [0, ...Array.from({ length: n }, (_, i) => 10 ** (-5 + (8 * i) / (n - 1)))];
  const k = Float64Array.from(TRUE_RATES);
  const clean = odeint((t, y) => field(t, y, k), Y0, ts, { method: 'rodas5', ...TOL }).ys as Float64Array[];
  const r = rng(`robertson:${seed}`);
  return { ts, obs: clean.map((y, i) => (i === 0 ? y : y.map((v) => v * (1 + SIGMA * r.normal())))) };
}

/** L-BFGS on θ = log k of L = Σᵢ Σⱼ ((yⱼ(tᵢ) − obsᵢⱼ) / (σ·obsᵢⱼ))² / 2, gradients by the adjoint. */
export function fitRates(ts: number[], obs: Float64Array[], k0: number[], maxIters: number) {
  let nfe = 0;
  const fg = (theta: Float64Array) => {
    const k = theta.map(Math.exp);
    const fwd = odeint((t, y) => field(t, y, k), Y0, ts, { method: 'rodas5', ...TOL });
    let f = 0;
    const dLdy = (fwd.ys as Float64Array[]).map((y, i) => y.map((v, j) => {
      if (i === 0) return 0;
      const s = SIGMA * obs[i]![j]!;
      f += ((v - obs[i]![j]!) / s) ** 2 / 2;
      return (v - obs[i]![j]!) / (s * s);
    }));
    const sens = adjointSensitivity({ f: field, vjp: (t, y, p, a) => { const g = vjp(t, y, p, a); return { y: g.y, p: g.k }; }, y0: Y0, ts, params: k, dLdy, method: 'rodas5', ...TOL, adjointRtol: 1e-8, adjointAtol: 1e-8 });
    nfe += fwd.stats.nfe + sens.stats.forward.nfe + sens.stats.backward.nfe;
    return { f, g: sens.dLdp.map((v, j) => v * k[j]!) };
  };
  const res = lbfgs(fg, k0.map(Math.log), { maxIters, gtol: 1e-6, maxStep: 0.5 });
  return { rates: Array.from(res.x, Math.exp), loss: res.f, iters: res.iters, evaluations: res.evals, converged: res.converged, nfe };
}

export async function main(argv = process.argv.slice(2)): Promise<Record<string, unknown>> {
  const quick = flag('quick', argv);
  const outDir = option('out', 'out', argv);
  const seed = Number(option('seed', '0', argv));
  const t0 = performance.now();
  const { ts, obs } = observations(quick ? 17 : 33, seed);
  const k0 = [0.06, 0.5e4, 6e7];
  const fit = fitRates(ts, obs, k0, quick ? 40 : 100);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`rates (k₁, k₂, k₃): true ${TRUE_RATES.join(', ')} | start ${k0.join(', ')} | recovered ${fit.rates.map((v) => v.toPrecision(4)).join(', ')}`);
  console.log(`L-BFGS ${fit.iters} iterations, ${fit.evaluations} loss+gradient evaluations, NFE ${fit.nfe}, ${seconds.toFixed(2)} s`);
  // Concentrations against log₁₀ t: observations and the fitted model (y₂ scaled by 10⁴).
  const grid = Array.from({ length: 161 }, (_, i) => 10 ** (-5 + (8 * i) / 160));
  const kFit = Float64Array.from(fit.rates);
  const path = odeint((t, y) => field(t, y, kFit), Y0, [0, ...grid], { method: 'rodas5', ...TOL }).ys.slice(1) as Float64Array[];
  const scale = [1, 1e4, 1];
  const colours = ['#1f5fa8', '#c2410c', '#15803d'];
  const series = (j: number, times: number[], ys: Float64Array[], dots: boolean) => ({
    name: `${['y₁', '10⁴·y₂', 'y₃'][j]}${dots ? ', observed (dots)' : ', fitted'}`, colour: colours[j], dots,
    points: times.map((t, i) => [Math.log10(t), ys[i]![j]! * scale[j]!] as [number, number]),
  });
  const figures = [
    await writePng(outDir, 'robertson-fit.png', lineChart([0, 1, 2].flatMap((j) => [series(j, ts.slice(1), obs.slice(1), true), series(j, grid, path, false)]), {
      title: `Robertson: ${obs.length - 1} noisy observations (${SIGMA * 100}%) and the rodas5 + adjoint fit`, xLabel: 'log₁₀ t', yLabel: 'concentration',
    })),
  ];
  const out = { example: 'robertson', quick, truth: TRUE_RATES, start: k0, noiseSigma: SIGMA, observations: obs.length - 1, fit: { ...fit, seconds }, figures };
  console.log(JSON.stringify(out));
  return out;
}

if (isMain(import.meta.url)) await main();
