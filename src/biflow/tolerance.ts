/**
 * The solver-tolerance harness: how a trained flow's log-likelihood depends on the ODE solver and
 * its tolerance — error against a float64 reference, NFE and time for every solver × tolerance
 * (fixed-step methods: × number of steps) — and the same work-precision sweep on the ODE core's
 * classic problems (Arenstorf, Lotka–Volterra, Van der Pol, Brusselator).
 *
 * The reference solves every CNF block on the float64 path (`cnfForward64`, dopri8 at 1e-10 by
 * default); discrete blocks run in float32 as they always do, so the errors measured are the
 * solver's own, down to float32's floor of about 1e-6 nats.
 */
import { tf } from '../backend/engine.js';
import { readValues, runDeferred } from '../backend/reads.js';
import { BiflowError, InvalidArgumentError } from '../errors.js';
import type { Bijector } from '../flows/bijector.js';
import { leafBlocks } from '../flows/compose.js';
import { StandardNormal } from '../flows/distributions.js';
import type { Flow } from '../flows/flow.js';
import { CNF } from '../ffjord/cnf.js';
import type { CNFOptions } from '../ffjord/cnf.js';
import { cnfForward64 } from '../ffjord/float64.js';
import { odeint } from '../ode/odeint.js';
import { PROBLEMS } from '../ode/problems.js';
import type { Problem } from '../ode/problems.js';
import type { StiffProblem } from '../ode/stiff-problems.js';
import { METHOD_NAMES, isAdaptiveMethod } from '../ode/tableaux/index.js';
import type { MethodName } from '../ode/tableaux/index.js';
import { medianSeconds, medianSecondsAsync } from './metrics.js';
import { both, runSteps, runStepsAsync } from './steps.js';
import type { Steps } from './steps.js';

/** The solver × tolerance grid of a sweep. */
export interface SweepOptions {
  /** rtol = atol values for adaptive methods (default 1e-2 … 1e-8). */
  tols?: number[];
  /** Methods (default dopri5, tsit5, bosh3, rk4); fixed-step ones sweep `steps` instead. */
  solvers?: MethodName[];
  /** Steps over [0, T] for fixed-step methods (default 2, 4, …, 64). */
  steps?: number[];
  /** Timing repeats (median; default 1). */
  repeats?: number;
}

/** One solver setting of {@link toleranceSweep}. */
export interface SweepRow {
  solver: MethodName;
  tol: number | null;
  steps: number | null;
  /** |mean NLL − reference| and mean |log p − reference log p| over the points (nats). */
  nllError: number;
  pointError: number;
  nll: number;
  nfe: number;
  seconds: number;
}

/** {@link toleranceSweep}'s result: the float64 reference and one row per solver setting. */
export interface ToleranceResult {
  points: number;
  reference: { nll: number; method: MethodName; tol: number; precision: 'float64'; nfe: number; seconds: number };
  rows: SweepRow[];
}

const DEFAULT_TOLS = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8];
const DEFAULT_STEPS = [2, 4, 8, 16, 32, 64];

const cnfBlocks = (b: Bijector): CNF[] => leafBlocks(b).filter((x): x is CNF => x instanceof CNF);

function checkSweep(fn: string, { tols = DEFAULT_TOLS, solvers = ['dopri5', 'tsit5', 'bosh3', 'rk4'], steps = DEFAULT_STEPS, repeats = 1 }: SweepOptions) {
  if (!Array.isArray(tols) || tols.length === 0 || tols.some((t) => !(t > 0 && t < 1))) throw new InvalidArgumentError(fn, 'tols', tols, 'must be a non-empty list of tolerances in (0, 1), such as [1e-3, 1e-5, 1e-7], got {value}.');
  if (!Array.isArray(solvers) || solvers.length === 0 || solvers.some((s) => !METHOD_NAMES.includes(s))) throw new InvalidArgumentError(fn, 'solvers', solvers, `must be a non-empty list of methods among ${METHOD_NAMES.join(', ')}, got {value}.`);
  if (!Array.isArray(steps) || steps.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError(fn, 'steps', steps, 'must be a list of positive integers such as [4, 8, 16], got {value}.');
  return { tols, solvers, steps, repeats };
}

/** Each configuration of the sweep: adaptive methods × tols, fixed-step methods × steps. */
type Configuration = { solver: MethodName; tol: number | null; steps: number | null };
function configurations(o: ReturnType<typeof checkSweep>): Configuration[] {
  return o.solvers.flatMap((solver): Configuration[] => (isAdaptiveMethod(solver) ? o.tols.map((tol) => ({ solver, tol, steps: null })) : o.steps.map((steps) => ({ solver, tol: null, steps }))));
}

/** Options of {@link referenceLogProb}: the float64 solver and its rtol = atol. */
export interface ReferenceOptions {
  method?: MethodName;
  tol?: number;
}

/**
 * {@link referenceLogProb} on any backend, WebGPU included: the weights and the discrete blocks'
 * outputs are read asynchronously (by `runDeferred`; the float64 solves run on the host).
 *
 * @example
 * ```ts
 * import { createFlow, referenceLogProbAsync, toyData } from 'biflow';
 *
 * const flow = createFlow({ type: 'ffjord', dim: 2 });
 * const { logProb } = await referenceLogProbAsync(flow, toyData('moons', 10, 0));
 * logProb.length; // 10
 * ```
 */
export function referenceLogProbAsync(flow: Flow, rows: Float32Array, options: ReferenceOptions = {}): Promise<{ logProb: Float64Array; nfe: number }> {
  return runDeferred(() => referenceLogProb(flow, rows, options));
}

/**
 * Per-point log-likelihoods of the rows under the flow with every CNF block solved in float64.
 *
 * @example
 * ```ts
 * import { createFlow, referenceLogProb, toyData } from 'biflow';
 *
 * const flow = createFlow({ type: 'ffjord', dim: 2 });
 * const { logProb, nfe } = referenceLogProb(flow, toyData('moons', 10, 0)); // float64, dopri8 at 1e-10
 * logProb.length; // 10
 * nfe;
 * ```
 */
export function referenceLogProb(flow: Flow, rows: Float32Array, { method = 'dopri8', tol = 1e-10 }: ReferenceOptions = {}): { logProb: Float64Array; nfe: number } {
  // Device reads (weights, discrete blocks' outputs) through readValues: dataSync where the backend can, else answered by runDeferred.
  const fn = 'referenceLogProb';
  const d = flow.dim;
  const n = rows.length / d;
  let state: Float64Array = Float64Array.from(rows);
  const logDet = new Float64Array(n);
  let nfe = 0;
  for (const b of leafBlocks(flow.bijector)) {
    if (b instanceof CNF) {
      const r = cnfForward64(b, state, { method, tol });
      state = r.z;
      r.logDet.forEach((v, i) => (logDet[i] += v));
      nfe += r.nfe;
    } else {
      const out = tf.tidy(() => {
        const r = b.forward(tf.tensor2d(Float32Array.from(state), [n, d]));
        return { y: r.y, logDet: r.logDet };
      });
      let y: ArrayLike<number>, ld: ArrayLike<number>;
      try {
        y = readValues(out.y, fn);
        ld = readValues(out.logDet, fn);
      } finally {
        // readValues frees what it reads; a refused read leaves the other to free here.
        tf.dispose([out.y, out.logDet]);
      }
      state = Float64Array.from(y);
      Array.from(ld).forEach((v, i) => (logDet[i] += v));
    }
  }
  let base: Float64Array;
  if (flow.base instanceof StandardNormal) {
    base = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += state[i * d + k]! ** 2;
      base[i] = -0.5 * d * Math.log(2 * Math.PI) - 0.5 * s;
    }
  } else {
    base = Float64Array.from(readValues(tf.tidy(() => flow.base.logProb(tf.tensor2d(Float32Array.from(state), [n, d]))), fn));
  }
  return { logProb: base.map((v, i) => v + logDet[i]!), nfe };
}

/**
 * Evaluates `flow` (with at least one CNF block) on the rows at every solver × tolerance and
 * reports the log-likelihood error against the float64 reference, NFE and seconds.
 * The blocks' solver settings are restored afterwards.
 *
 * @example
 * ```ts
 * import { createFlow, loadDataset, toleranceSweep } from 'biflow';
 *
 * const flow = createFlow({ type: 'ffjord', dim: 2 });
 * const rows = loadDataset('8gaussians').test.subarray(0, 2 * 20);
 * const sweep = toleranceSweep(flow, rows, { tols: [1e-3, 1e-5], solvers: ['dopri5', 'rk4'], steps: [4, 16] });
 * sweep.rows.map((r) => [r.solver, r.tol ?? r.steps, r.nfe]); // error against sweep.reference, NFE, seconds
 * ```
 */
export function toleranceSweep(flow: Flow, rows: Float32Array, options: SweepOptions & { referenceTol?: number } = {}): ToleranceResult {
  return runSteps(sweepSteps('toleranceSweep', flow, rows, options));
}

/**
 * {@link toleranceSweep} on any backend, WebGPU included: every evaluation through
 * `Flow.logProbAsync` (and timed so), the float64 reference's reads awaited.
 *
 * @example
 * ```ts
 * import { createFlow, loadDataset, toleranceSweepAsync } from 'biflow';
 *
 * const flow = createFlow({ type: 'ffjord', dim: 2 });
 * const rows = loadDataset('8gaussians').test.subarray(0, 2 * 20);
 * const sweep = await toleranceSweepAsync(flow, rows, { tols: [1e-3], solvers: ['dopri5', 'rk4'], steps: [4] });
 * sweep.rows.length; // 2
 * ```
 */
export function toleranceSweepAsync(flow: Flow, rows: Float32Array, options: SweepOptions & { referenceTol?: number } = {}): Promise<ToleranceResult> {
  return runStepsAsync(sweepSteps('toleranceSweepAsync', flow, rows, options));
}

function* sweepSteps(fn: string, flow: Flow, rows: Float32Array, options: SweepOptions & { referenceTol?: number }): Steps<ToleranceResult> {
  const o = checkSweep(fn, options);
  const cnfs = cnfBlocks(flow.bijector);
  if (cnfs.length === 0) throw new InvalidArgumentError(fn, 'flow', flow.config?.type ?? 'flow', "must have a CNF block (type 'ffjord' or 'biflow'), got {value}.");
  const d = flow.dim;
  const n = rows.length / d;
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(fn, 'rows', rows.length, `must hold whole rows of ${d} values, got {value} values.`);
  const saved = cnfs.map((c) => c.getConfig() as unknown as CNFOptions);
  // Each block's end time (a device read), once: fixed steps are T / steps.
  const endTimes = () => cnfs.map((cnf) => cnf.T);
  const Ts = yield* both(endTimes, () => runDeferred(endTimes));
  const referenceTol = options.referenceTol ?? 1e-10;
  const start = performance.now();
  const ref = yield* both(() => referenceLogProb(flow, rows, { tol: referenceTol }), () => referenceLogProbAsync(flow, rows, { tol: referenceTol }));
  const refSeconds = (performance.now() - start) / 1000;
  const refNll = -ref.logProb.reduce((a, b) => a + b, 0) / n;
  const x = tf.tensor2d(rows, [n, d]);
  const out: SweepRow[] = [];
  try {
    for (const c of configurations(o)) {
      cnfs.forEach((cnf, i) => cnf.setSolver({ method: c.solver, rtol: c.tol ?? undefined, atol: c.tol ?? undefined, stepSize: c.steps ? Ts[i]! / c.steps : undefined }));
      // One batch: the NFE reported is that of one solve over all the points (exact trace, the default).
      const lp = yield* both(
        () => tf.tidy(() => flow.logProb(x, { batch: n }).dataSync()),
        async () => {
          const t = await flow.logProbAsync(x, { batch: n });
          try {
            return await t.data();
          } finally {
            t.dispose();
          }
        },
      );
      const nfe = cnfs.reduce((s, cnf) => s + cnf.stats.nfeForward, 0);
      const seconds = yield* both(
        () => medianSeconds(() => flow.logProb(x, { batch: n }).dispose(), o.repeats),
        () => medianSecondsAsync(async () => (await flow.logProbAsync(x, { batch: n })).dispose(), o.repeats),
      );
      let pointError = 0;
      let sum = 0;
      lp.forEach((v, i) => {
        pointError += Math.abs(v - ref.logProb[i]!);
        sum += v;
      });
      out.push({ ...c, nll: -sum / n, nllError: Math.abs(-sum / n - refNll), pointError: pointError / n, nfe, seconds });
    }
  } finally {
    x.dispose();
    cnfs.forEach((cnf, i) => {
      const { method, rtol, atol, stepSize } = saved[i]!;
      cnf.setSolver({ method, rtol, atol, stepSize });
    });
  }
  return { points: n, reference: { nll: refNll, method: 'dopri8', tol: referenceTol, precision: 'float64', nfe: ref.nfe, seconds: refSeconds }, rows: out };
}

/** One problem × solver setting of {@link problemSweep}. */
export interface ProblemRow {
  problem: string;
  solver: MethodName;
  tol: number | null;
  steps: number | null;
  /** Max-norm error of y(t1) against a dopri8 solve at 1e-13 (rodas5 at 1e-12 for a stiff problem), relative to max(1, |y|); null if the solve failed. */
  error: number | null;
  nfe: number;
  seconds: number;
  /** Why the solve failed (a fixed step too large for the problem, say). */
  failed?: string;
}

/**
 * The work-precision sweep on the ODE core's classic float64 problems.
 *
 * @example
 * ```ts
 * import { problemSweep, VAN_DER_POL } from 'biflow';
 *
 * const rows = problemSweep({ problems: [VAN_DER_POL], tols: [1e-4, 1e-8], solvers: ['dopri5', 'tsit5'] });
 * rows.map((r) => [r.solver, r.tol, r.error, r.nfe]); // error falls as the tolerance tightens
 * ```
 */
export function problemSweep(options: SweepOptions & { problems?: readonly Problem[] } = {}): ProblemRow[] {
  const o = checkSweep('problemSweep', { steps: [50, 100, 200, 400, 800, 1600], ...options });
  const rows: ProblemRow[] = [];
  for (const p of options.problems ?? PROBLEMS) {
    const f = (t: number, y: Float64Array, dy?: Float64Array) => {
      const out = dy ?? new Float64Array(y.length);
      p.f(t, y, out);
      return out;
    };
    // Stiff problems (they carry a Jacobian) take their reference from rodas5: dopri8 would need millions of steps.
    const stiff = 'jac' in p ? (p as StiffProblem) : null;
    const ref = odeint(f, p.y0, [0, p.t1], stiff ? { method: 'rodas5', rtol: 1e-12, atol: 1e-16, jac: stiff.jac, maxSteps: 1e7 } : { method: 'dopri8', rtol: 1e-13, atol: 1e-13, maxSteps: 1e6 }).ys[1]!;
    for (const c of configurations(o)) {
      const opts = c.tol !== null ? { method: c.solver, rtol: c.tol, atol: c.tol, maxSteps: 1e6 } : { method: c.solver, stepSize: p.t1 / c.steps! };
      let sol;
      try {
        sol = odeint(f, p.y0, [0, p.t1], opts);
      } catch (e) {
        if (!(e instanceof BiflowError)) throw e;
        rows.push({ problem: p.name, ...c, error: null, nfe: 0, seconds: 0, failed: e.message });
        continue;
      }
      const y = sol.ys[1]!;
      const error = Math.max(...Array.from(y, (v, i) => Math.abs(v - ref[i]!) / Math.max(1, Math.abs(ref[i]!))));
      const seconds = medianSeconds(() => odeint(f, p.y0, [0, p.t1], opts), o.repeats);
      rows.push({ problem: p.name, ...c, error, nfe: sol.stats.nfe, seconds });
    }
  }
  return rows;
}
