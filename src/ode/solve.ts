/**
 * `solve`: the one loop that combines a solver (one RK step), a step-size controller, output
 * requests, events and a state space — the general form that {@link odeint} wraps.
 *
 * @example
 * const sol = solve<Float64Array>({
 *   f: (t, y) => [y[1], -y[0]], y0: Float64Array.of(1, 0), t0: 0, t1: 10,
 *   solver: new Dopri5(), controller: new PIDController({ rtol: 1e-8, atol: 1e-10 }),
 *   saveAt: SaveAt.ts([0, 5, 10]),
 * });
 */
import {
  InvalidArgumentError, MaxStepsExceededError, NonFiniteError, StepSizeUnderflowError,
} from '../errors.js';
import type { StepSizeController } from './controller.js';
import { DenseOutput, interpolationWeights, needsF1 } from './dense.js';
import { checkEvents, crossing, eventValue, locateRootSteps } from './events.js';
import type { EventRecord, OdeEvent } from './events.js';
import { float64Space } from './float64-space.js';
import { SaveAt } from './saveat.js';
import { Dopri5 } from './solver.js';
import type { RKWork } from './solver.js';
import { OdeSolver } from './solver-base.js';
import type { StepInterpolant } from './dense.js';
import { finiteOf } from './space.js';
import type { SolveScope, StateSpace, VectorField } from './space.js';
import { TensorSpace, TupleSpace } from './tensor-space.js';
import { tf } from '../backend/engine.js';
import { cleanTapeOnError, isRecording } from '../backend/tape.js';
import { canReadSync, deferredRun, driveAsync, driveSync, settle } from '../backend/reads.js';
import type { DeferredRun, ReadingSteps } from '../backend/reads.js';
import { SyncReadError } from '../errors.js';

/** Work done by a solve: function evaluations and accepted, rejected and total steps. */
export interface SolveStats {
  /** Function evaluations, including initial-step selection and event/interpolation needs. */
  nfe: number;
  nAccepted: number;
  nRejected: number;
  /** Attempted steps (accepted + rejected). */
  nSteps: number;
  /**
   * Jacobian evaluations and LU factorisations (stiff methods; 0 otherwise). Always set by
   * {@link solve}; optional in the type so statistics summed elsewhere need not carry them.
   */
  njev?: number;
  nlu?: number;
}

/** Arguments of {@link solve}: vector field, initial state, interval, solver, controller, what to save, events and the step limit. */
export interface SolveArgs<Y> {
  f: VectorField<Y>;
  y0: NoInfer<Y> | ArrayLike<number>;
  t0: number;
  t1: number;
  /** Default `new Dopri5()`; also the stiff `new Rodas5()`, `new Kvaerno5()`. */
  solver?: OdeSolver;
  /** Required: `new PIDController({ rtol, atol })` or `new ConstantStepSize({ dt })`. */
  controller: StepSizeController;
  /** Default: the final state only. */
  saveAt?: SaveAt;
  events?: readonly OdeEvent<Y>[];
  /** Absolute time tolerance for event location (default ~4 ulp of t). */
  eventTol?: number;
  /** Attempted steps allowed before {@link MaxStepsExceededError} (default 100 000). */
  maxSteps?: number;
  /** State arithmetic; default float64 (`Float64Array` or number arrays). */
  space?: StateSpace<Y>;
  /** Name of the public function for error messages (default `solve`). */
  fn?: string;
}

/**
 * How a solve ended: `'completed'` (t1 reached), `'terminated'` (a terminal event stopped it) or
 * `'max_steps'` (the partial solution of a {@link MaxStepsExceededError}: stopped at `t1`, short of
 * the requested end).
 */
export type SolveStatus = 'completed' | 'terminated' | 'max_steps';

/** The result of a solve. */
export class Solution<Y> {
  constructor(
    /** Times of the saved states. */
    readonly ts: number[],
    /** One state per saved time. */
    readonly ys: Y[],
    readonly stats: SolveStats,
    /** Every event located, in time order. */
    readonly events: EventRecord<Y>[],
    /** The terminal event that stopped the solve, if any. */
    readonly terminal: EventRecord<Y> | null,
    /** Start and the time actually reached (t1, or a terminal event's time, or where it failed). */
    readonly t0: number,
    readonly t1: number,
    /** The dense interpolant when requested with `SaveAt.dense()`. */
    readonly dense: DenseOutput<Y> | null,
    /** Set when the solve failed short of its end: `'max_steps'` for a MaxStepsExceededError's partial solution. */
    private readonly stoppedBy: 'max_steps' | null = null,
  ) {}

  /** How the solve ended: see {@link SolveStatus}. */
  get status(): SolveStatus {
    return this.stoppedBy ?? (this.terminal ? 'terminated' : 'completed');
  }

  /**
   * Releases the tensors this solution holds (saved states, event states, dense pieces). A no-op
   * for float64 solutions. Tensor outputs otherwise belong to the caller like any tfjs result.
   */
  dispose(): void {
    // tf.dispose walks nested arrays and ignores what is not a tensor (float64 states).
    tf.dispose([...this.ys, ...this.events.map((e) => e.y), ...(this.dense ? this.dense.values() : [])] as unknown as tf.Tensor[]);
  }

  /** The solution at any t in the solved interval (needs `SaveAt.dense()` / `{ dense: true }`). */
  evaluate(t: number): Y {
    if (!this.dense) {
      throw new InvalidArgumentError('Solution.evaluate', 'saveAt', 'no dense output', 'is needed: solve with saveAt: SaveAt.dense() (or odeint(..., { dense: true })).');
    }
    return this.dense.evaluate(t);
  }
}

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * The state space for y0: float64 for numbers, tensor for a tf.Tensor, tuple for an array of them.
 *
 * @example
 * ```ts
 * import { tf, spaceFor, float64Space, TensorSpace } from 'biflow';
 *
 * spaceFor(Float64Array.of(1, 2)) === float64Space;        // true
 * spaceFor(tf.zeros([4, 2])) instanceof TensorSpace;        // true
 * ```
 */
export function spaceFor<Y>(y0: unknown): StateSpace<Y> {
  if (y0 instanceof tf.Tensor) return tensorSpace as unknown as StateSpace<Y>;
  if (Array.isArray(y0) && y0.length > 0 && y0.every((t) => t instanceof tf.Tensor)) return new TupleSpace() as unknown as StateSpace<Y>;
  return float64Space as unknown as StateSpace<Y>;
}

const tensorSpace = new TensorSpace();

/**
 * Integrates dy/dt = f(t, y) from t0 to t1 (t1 < t0 runs backwards).
 *
 * @example
 * ```ts
 * import { solve, Tsit5, PIDController, SaveAt } from 'biflow';
 *
 * const sol = solve<Float64Array>({
 *   f: (_t, y) => [y[1], -9.81],
 *   y0: Float64Array.of(10, 0), t0: 0, t1: 5,
 *   solver: new Tsit5(),
 *   controller: new PIDController({ rtol: 1e-9, atol: 1e-9 }),
 *   saveAt: SaveAt.dense(),
 *   events: [{ g: (_t, y) => y[0], direction: 'falling', terminal: true, name: 'ground' }],
 * });
 * sol.terminal?.t;    // ≈ 1.4278 s, when the ball reaches the ground
 * sol.evaluate(0.5);  // the state at t = 0.5
 * ```
 */
export function solve<Y>(args: SolveArgs<Y>): Solution<Y> {
  const fn = args.fn ?? 'solve';
  const replay = deferredRun();
  // Inside runDeferred a solve that is not being taped is answered whole, by solveAsync.
  if (replay && !isRecording() && isTensorState(args.y0) && !args.saveAt?.dense && !args.events?.length) return answeredSolve(replay, args);
  checkSyncReads(fn, args.controller?.tolerance != null, args.y0);
  return driveSync(solveSteps(args), fn, asyncFormOf(fn));
}

const isTensorState = (y0: unknown): boolean => y0 instanceof tf.Tensor || (Array.isArray(y0) && y0.length > 0 && y0[0] instanceof tf.Tensor);

/**
 * A solve inside a replayed computation: the first attempt that asks runs it with solveAsync on
 * kept copies of y0; every attempt gets copies of its outputs (the run frees the originals).
 * The vector field must not close over tensors made inside the attempt (they are gone by then).
 */
function answeredSolve<Y>(replay: DeferredRun, args: SolveArgs<Y>): Solution<Y> {
  const single = args.y0 instanceof tf.Tensor;
  const y0 = (single ? [args.y0] : args.y0) as tf.Tensor[];
  const sol = replay.answer<Solution<Y>>(() => {
    const kept = y0.map((t) => tf.keep(tf.clone(t)));
    return async () => {
      try {
        const done = await solveAsync({ ...args, y0: (single ? kept[0] : kept) as Y });
        replay.own(done);
        return done;
      } finally {
        tf.dispose(kept);
      }
    };
  });
  const copy = (y: Y): Y => (single ? tf.clone(y as tf.Tensor) : (y as tf.Tensor[]).map((t) => tf.clone(t))) as Y;
  return new Solution(sol.ts.slice(), sol.ys.map(copy), { ...sol.stats }, [], null, sol.t0, sol.t1, null);
}

/**
 * {@link solve} on any backend, WebGPU included: the same loop, step for step the same results,
 * awaiting its one device read per step (the error norm) instead of reading synchronously.
 * One asynchronous solve at a time per engine: its tensor scope stays open across the awaits.
 *
 * @example
 * ```ts
 * import { tf, solveAsync, Dopri5, PIDController, SaveAt } from 'biflow';
 *
 * const sol = await solveAsync({
 *   f: (_t, y: tf.Tensor) => tf.neg(y), y0: tf.ones([4, 2]), t0: 0, t1: 1,
 *   solver: new Dopri5(), controller: new PIDController({ rtol: 1e-5, atol: 1e-6 }), saveAt: SaveAt.ts([0, 1]),
 * });
 * sol.ys[1]; // ≈ e^−1 everywhere
 * sol.dispose();
 * ```
 */
export function solveAsync<Y>(args: SolveArgs<Y>): Promise<Solution<Y>> {
  return driveAsync(solveSteps(args));
}

/** The async form a sync solver entry names in its {@link SyncReadError}. */
export function asyncFormOf(fn: string): string {
  const base = fn.split(' ')[0]!;
  if (base === 'odeint' || base === 'solve') return `${base}Async`;
  if (base === 'odeintAdjoint') return "odeintAsync with { gradient: 'backsolve' } (its gradient inside runDeferred)";
  return `${base} inside runDeferred (or odeintAsync / solveAsync)`;
}

/**
 * Refuses, before any work, a sync solve that must read the device (an adaptive controller) on a
 * backend that can only read asynchronously. Fixed steps read nothing they cannot skip.
 */
export function checkSyncReads(fn: string, adaptive: boolean, y0: unknown): void {
  if (adaptive && !canReadSync() && !deferredRun() && isTensorState(y0)) {
    throw new SyncReadError(fn, asyncFormOf(fn));
  }
}

/** The loop of {@link solve} and {@link solveAsync}, as steps that yield its device reads. */
export function* solveSteps<Y>(args: SolveArgs<Y>): ReadingSteps<Solution<Y>> {
  const space = (args.space ?? spaceFor<Y>(args.y0)) as StateSpace<Y>;
  // Everything the solve hands back (saved states, event states, dense pieces): a tensor space
  // keeps these and frees the rest of each step's tensors.
  const produced: Y[] = [];
  const scope = space.openScope?.() ?? null;
  let settled = false;
  try {
    // Under a gradient tape, a failed solve also takes its recorded steps off the tape (their
    // saved tensors would otherwise outlive it).
    const sol = yield* cleanTapeOnError(run(args, space, scope, produced));
    settled = true;
    return sol;
  } catch (e) {
    settled = true;
    // Outputs saved before a failure reach the caller only inside MaxStepsExceededError's
    // partial solution; otherwise nobody could release them.
    if (scope && !(e instanceof MaxStepsExceededError)) {
      scope.close([]);
      tf.dispose(produced as unknown as tf.Tensor[]);
    }
    throw e;
  } finally {
    // A driver that stops early (its read failed) returns here without an exception: free all.
    if (scope && !settled) {
      scope.close([]);
      tf.dispose(produced as unknown as tf.Tensor[]);
    }
    scope?.close(produced);
  }
}

function* run<Y>(args: SolveArgs<Y>, space: StateSpace<Y>, scope: SolveScope<Y> | null, produced: Y[]): ReadingSteps<Solution<Y>> {
  const fn = args.fn ?? 'solve';
  const { f, t0, t1, controller, eventTol } = args;
  const solver = args.solver ?? new Dopri5();
  const saveAt = args.saveAt ?? new SaveAt();
  const maxSteps = args.maxSteps ?? 100_000;
  if (typeof f !== 'function') throw new InvalidArgumentError(fn, 'f', f, 'must be a function (t, y) => dy/dt, got {value}.');
  if (!isFiniteNumber(t0)) throw new InvalidArgumentError(fn, 't0', t0, 'must be a finite number, got {value}.');
  if (!isFiniteNumber(t1)) throw new InvalidArgumentError(fn, 't1', t1, 'must be a finite number, got {value}.');
  if (!(solver instanceof OdeSolver)) throw new InvalidArgumentError(fn, 'solver', solver, 'must be a solver such as new Dopri5(), got {value}.');
  solver.checkSpace(space, fn);
  if (controller == null || typeof controller.begin !== 'function') {
    throw new InvalidArgumentError(fn, 'controller', controller, 'is required, got {value}. Pass e.g. new PIDController({ rtol: 1e-6, atol: 1e-9 }) or new ConstantStepSize({ dt: 0.01 }).');
  }
  if (controller.tolerance && !solver.adaptive) {
    throw new InvalidArgumentError(fn, 'controller', 'PIDController', `needs an error estimate, which ${solver.name} does not have. Use an adaptive method (bosh3, dopri5, tsit5, dopri8) or new ConstantStepSize({ dt }).`);
  }
  if (!(Number.isInteger(maxSteps) && maxSteps > 0)) throw new InvalidArgumentError(fn, 'maxSteps', maxSteps, 'must be a positive integer, got {value}. Pass e.g. { maxSteps: 100000 }.');
  if (eventTol !== undefined && !(eventTol > 0)) throw new InvalidArgumentError(fn, 'eventTol', eventTol, 'must be a positive number (an absolute time tolerance), got {value}. Omit it for ~4 ulp of t.');
  const events = checkEvents(args.events, fn);
  const dir = t1 >= t0 ? 1 : -1;
  const requested = saveAt.ts ?? [];
  requested.forEach((tr, i) => {
    if (!isFiniteNumber(tr)) throw new InvalidArgumentError(fn, `ts[${i}]`, tr, 'must be a finite number, got {value}.');
    if ((tr - t0) * dir < 0 || (tr - t1) * dir > 0) throw new InvalidArgumentError(fn, `ts[${i}]`, tr, `must lie between t0 = ${t0} and t1 = ${t1}, got {value}.`);
    if (i > 0 && (tr - requested[i - 1]!) * dir <= 0) {
      throw new InvalidArgumentError(fn, 'ts', requested, `must be strictly ${dir > 0 ? 'increasing' : 'decreasing'} (the direction of t0 → t1), but ts[${i - 1}] = ${requested[i - 1]} and ts[${i}] = ${tr}. Sort the times and remove duplicates.`);
    }
  });

  let y = space.init(args.y0 as Y, fn);
  const tol = controller.tolerance;
  if (tol) space.checkTolerance(tol, y, fn);
  const stats: SolveStats = { nfe: 0, nAccepted: 0, nRejected: 0, nSteps: 0, njev: 0, nlu: 0 };
  const outTs: number[] = [];
  const outYs: Y[] = [];
  const records: EventRecord<Y>[] = [];
  const save = (t: number, state: Y): void => {
    const copy = space.copy(state);
    outTs.push(t);
    outYs.push(copy);
    produced.push(copy);
  };
  let ri = 0;
  if (saveAt.t0) save(t0, y);
  while (ri < requested.length && requested[ri] === t0) save(requested[ri++]!, y);
  let dense: DenseOutput<Y> | null = null;
  if (saveAt.dense) {
    const start = space.copy(y);
    produced.push(start);
    dense = new DenseOutput(space, t0, t1, start);
  }
  const finish = (t: number, terminal: EventRecord<Y> | null, stoppedBy: 'max_steps' | null = null): Solution<Y> =>
    new Solution(outTs, outYs, stats, records, terminal, t0, t, dense, stoppedBy);
  if (t0 === t1) {
    if (saveAt.t1) save(t1, y);
    return finish(t1, null);
  }

  const tableau = solver.tableau;
  const s = tableau.stages;
  const work = solver.workspace(space, y, fn);
  const ks = work.ks;
  const evaluate = (t: number, state: Y, out: Y): Y => {
    stats.nfe++;
    return space.evaluate(f, t, state, out, fn);
  };
  ks[0] = evaluate(t0, y, ks[0]!);
  if (!(yield* settle(finiteOf(space, ks[0])))) throw new NonFiniteError(`${fn}: f(t0, y0) is not finite at t = ${t0}. Check the vector field and the initial state.`, t0);
  const context = {
    space, f, t0, t1, y0: y, f0: ks[0], errorOrder: solver.errorOrder, scratch: [work.stage, work.err] as [Y, Y], fn,
    countEvaluation: () => void stats.nfe++,
  };
  const active = controller.start ? yield* controller.start(context) : controller.begin(context);
  const step = solver.stepper(space, f, work, tol, fn, stats);
  const perStep = solver.evaluationsPerStep;
  // A NaN in an FSAL last stage with a nonzero error weight already fails the error test, so k₀
  // of the next step needs its own check only otherwise.
  const checkK0 = !tableau.fsal || tableau.e === undefined || tableau.e[s - 1] === 0;
  const yStart = y; // (a const, so no closure captures the loop's `y`)
  const gPrev: number[] = [];
  for (const ev of events) gPrev.push(yield* settle(eventValue(ev.g(t0, yStart))));
  const view = new AcceptedStep(space, tableau, work, (t, state, out) => evaluate(t, state, out));
  const hasEvents = events.length > 0;
  const nRequested = requested.length;
  const saveSteps = saveAt.steps;
  let t = t0;
  let h = active.firstStep;
  let k0Stale = false;
  let nonFiniteRun = 0;
  let collected = 0;

  while ((t1 - t) * dir > 0) {
    if (stats.nSteps >= maxSteps) {
      if (outTs[outTs.length - 1] !== t) save(t, y);
      throw new MaxStepsExceededError(
        `${fn}: maxSteps = ${maxSteps} steps were not enough to reach t1 = ${t1} (stopped at t = ${t}). Raise maxSteps, loosen rtol/atol, or check whether the problem is stiff.`,
        t, finish(t, null, 'max_steps'),
      );
    }
    if (k0Stale) {
      ks[0] = evaluate(t, y, ks[0]!);
      k0Stale = false;
    }
    if (checkK0 && !(yield* settle(finiteOf(space, ks[0]!)))) throw new NonFiniteError(`${fn}: the derivative f(t, y) became non-finite at t = ${t} on an accepted state. Check the vector field near that time.`, t);
    // Stretch a step that would leave a sliver of less than 1% before t1 (as Hairer's codes do).
    if ((t + 1.01 * h - t1) * dir > 0) h = t1 - t;
    if (Math.abs(h) <= 4 * Number.EPSILON * Math.abs(t) || h === 0) {
      if (active.nonFinite) throw new NonFiniteError(`${fn}: the state or derivative stayed non-finite near t = ${t} while the step shrank to ${h}. Check the vector field there.`, t);
      throw new StepSizeUnderflowError(`${fn}: the step size underflowed (h = ${h}) at t = ${t}. The problem may be stiff or singular there; loosen atol/rtol or check f.`, t, h);
    }
    const ratio = yield* settle(step(t, y, h));
    stats.nfe += perStep;
    stats.nSteps++;
    if (!active.decide(t, h, ratio)) {
      stats.nRejected++;
      nonFiniteRun = active.nonFinite ? nonFiniteRun + 1 : 0;
      if (active.nonFinite && (nonFiniteRun > 30 || Math.abs(h) <= active.minStep)) {
        throw new NonFiniteError(`${fn}: the state or derivative stayed non-finite near t = ${t} after ${nonFiniteRun} step rejections (last step ${h}). Check the vector field there, or use a smaller step.`, t);
      }
      if (Math.abs(h) <= active.minStep) {
        throw new StepSizeUnderflowError(`${fn}: a step of the minimum size ${active.minStep} failed the error test at t = ${t}. Lower minStep or loosen rtol/atol.`, t, h);
      }
      h = active.next;
      if (scope) collected = collect(scope, [y, ks[0]!], produced, collected);
      continue;
    }
    nonFiniteRun = 0;
    stats.nAccepted++;
    const tNext = h === t1 - t ? t1 : t + h;
    view.set(t, h, tNext, y);

    const terminal = hasEvents ? yield* findEvents(view, events, gPrev, eventTol, records, produced) : null;
    const tEnd = terminal ? terminal.t : tNext;
    while (ri < nRequested && (requested[ri]! - tEnd) * dir <= 0) {
      const tr = requested[ri++]!;
      if (tr === tNext) save(tr, work.y1);
      else {
        const yr = view.interpolate(tr, space.buffer(y));
        outTs.push(tr);
        outYs.push(yr);
        produced.push(yr);
      }
    }
    if (dense) {
      view.syncStages();
      produced.push(...dense.push(tableau, t, h, y, work.K));
      if (terminal) dense.truncate(terminal.t);
    }
    if (saveSteps) save(tEnd, terminal ? terminal.y : work.y1);
    if (terminal) return finish(tEnd, terminal);

    // Advance: y₁ becomes y, and f(t₁, y₁) becomes the next k₀ when we already have it.
    const old = y;
    y = work.y1;
    work.y1 = old;
    if (tableau.fsal) {
      const k0 = ks[0]!;
      ks[0] = ks[s - 1]!;
      ks[s - 1] = k0;
    } else if (view.f1Ready) {
      const k0 = ks[0]!;
      ks[0] = work.f1;
      work.f1 = k0;
    } else {
      k0Stale = true;
    }
    t = tNext;
    h = active.next;
    if (scope) collected = collect(scope, k0Stale ? [y] : [y, ks[0]!], produced, collected);
  }
  if (saveAt.t1 && outTs[outTs.length - 1] !== t1) save(t1, y);
  return finish(t1, null);
}

/**
 * The step just accepted, for everything that looks inside it: interpolation (outputs, events,
 * dense output) and the lazily computed f(t₁, y₁) that Hermite interpolation needs.
 */
class AcceptedStep<Y> {
  t = 0;
  h = 0;
  tNext = 0;
  f1Ready = false;
  private y: Y | null = null;
  private readonly hermiteF1: boolean;
  private readonly weights: Float64Array;

  constructor(
    readonly space: StateSpace<Y>,
    readonly tableau: StepInterpolant,
    readonly work: RKWork<Y>,
    private readonly evaluate: (t: number, state: Y, out: Y) => Y,
  ) {
    this.hermiteF1 = needsF1(tableau);
    this.weights = new Float64Array(tableau.stages + 1);
  }

  set(t: number, h: number, tNext: number, y: Y): void {
    this.t = t;
    this.h = h;
    this.tNext = tNext;
    this.y = y;
    this.f1Ready = this.tableau.fsal;
    this.synced = false;
  }

  private synced = false;

  /**
   * Makes K = [k₀…k_{s−1}, f₁] current for this step (the stage buffers rotate between steps),
   * computing f(t₁, y₁) first when the interpolant needs it (non-FSAL Hermite).
   */
  syncStages(): void {
    const { work, tableau } = this;
    const s = tableau.stages;
    if (!this.f1Ready && this.hermiteF1) {
      work.f1 = this.evaluate(this.tNext, work.y1, work.f1);
      this.f1Ready = true;
      this.synced = false;
    }
    if (this.synced) return;
    for (let i = 0; i < s; i++) work.K[i] = work.ks[i]!;
    work.K[s] = tableau.fsal ? work.ks[s - 1]! : work.f1;
    this.synced = true;
  }

  /** The interpolant at time tr inside the step, written into `out`. */
  interpolate(tr: number, out: Y): Y {
    this.syncStages();
    interpolationWeights(this.tableau, (tr - this.t) / this.h, this.weights);
    return this.space.lincomb(out, this.y!, this.h, this.weights, this.work.K, this.tableau.stages + 1);
  }
}

/**
 * Checks every event function at the end of the accepted step, locates each crossing on the
 * interpolant, records them in time order, and returns the first terminal one (or null).
 */
function* findEvents<Y>(
  view: AcceptedStep<Y>,
  events: readonly OdeEvent<Y>[],
  gPrev: number[],
  eventTol: number | undefined,
  records: EventRecord<Y>[],
  produced: Y[],
): ReadingSteps<EventRecord<Y> | null> {
  const { t, h, tNext, work, space } = view;
  const found: { theta: number; index: number; direction: 1 | -1 }[] = [];
  for (let index = 0; index < events.length; index++) {
    const ev = events[index]!;
    const g1 = yield* settle(eventValue(ev.g(tNext, work.y1)));
    const direction = crossing(gPrev[index]!, g1, ev.direction ?? 'both');
    if (direction !== 0) {
      const xtol = (eventTol ?? 4 * Number.EPSILON * Math.max(Math.abs(t), Math.abs(tNext), 1e-300)) / Math.abs(h);
      const theta = yield* locateRootSteps((x) => eventValue(ev.g(t + x * h, view.interpolate(t + x * h, work.stage))), gPrev[index]!, g1, xtol);
      found.push({ theta, index, direction });
    }
    gPrev[index] = g1;
  }
  found.sort((p, q) => p.theta - q.theta);
  for (const { theta, index, direction } of found) {
    const ev = events[index]!;
    const te = theta === 1 ? tNext : t + theta * h;
    const ye = space.copy(theta === 1 ? work.y1 : view.interpolate(te, work.stage));
    const rec: EventRecord<Y> = { index, name: ev.name, t: te, y: ye, direction, terminal: ev.terminal === true };
    records.push(rec);
    produced.push(ye);
    if (rec.terminal) return rec;
  }
  return null;
}

/** Hands the step's live state and new outputs to the scope; returns how many outputs it has seen. */
function collect<Y>(scope: SolveScope<Y>, state: Y[], produced: Y[], seen: number): number {
  scope.collect(state, produced.slice(seen));
  return produced.length;
}
