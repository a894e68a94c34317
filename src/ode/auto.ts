/**
 * `method: 'auto'`: integrate with tsit5 while the problem is not stiff, and switch to rodas5
 * once it is. After each accepted tsit5 step the dominant eigenvalue is estimated from the two
 * stages that sit at t + h, ρ ≈ ‖f(y₁) − f(Y₆)‖ / ‖y₁ − Y₆‖ (Hairer's test in DOPRI5, here in the
 * error-weighted norm); when h·ρ exceeds 3.0 (near the edge of the explicit stability region) on
 * 15 accepted steps before 6 steps below it, the explicit solver is being held back by stability, not accuracy, and the rest
 * of the interval is solved with rodas5 from that step's end. The switch is an internal terminal
 * event, so outputs, user events and dense output carry across it unchanged.
 *
 * References: Hairer, Nørsett, Wanner, Solving ODEs I, §IV.2 (stiffness detection in DOPRI5);
 * Rackauckas, Nie, DifferentialEquations.jl AutoTsit5(Rosenbrock23) (the composite idea).
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError, MaxStepsExceededError } from '../errors.js';
import { PIDController } from './controller.js';
import type { PIDOptions } from './controller.js';
import type { EventRecord, OdeEvent } from './events.js';
import type { ImplicitOptions } from './implicit.js';
import { Rosenbrock } from './rosenbrock.js';
import { SaveAt } from './saveat.js';
import { Solution, solve } from './solve.js';
import type { SolveStats } from './solve.js';
import { RungeKutta } from './solver.js';
import type { RKWork } from './solver.js';
import { tensorHRho } from './stiff-tensor.js';
import type { StateSpace, Stepper, Tolerance, VectorField } from './space.js';
import { rodas5, tsit5 } from './tableaux/index.js';

/** A change of method during an `auto` solve. */
export interface MethodSwitch {
  t: number;
  from: string;
  to: string;
}

/** The solution of an `auto` solve: an ordinary {@link Solution} plus where the method changed. */
export class AutoSolution<Y> extends Solution<Y> {
  constructor(
    readonly methodSwitches: MethodSwitch[],
    ...parts: ConstructorParameters<typeof Solution<Y>>
  ) {
    super(...parts);
  }
}

/**
 * The threshold on h·ρ: tsit5's stability-limited steps settle at h·ρ ≈ 3.3 (measured on Robertson),
 * so 3.0 (DOPRI5 uses 3.25 for its own region); and DOPRI5's step counts that confirm or clear it.
 */
const STIFF_HRHO = 3.0;
const STIFF_STEPS = 15;
const NONSTIFF_STEPS = 6;

/** Tsit5 that estimates h·ρ after each step (the estimate reads the step's stages; it changes nothing). */
class StiffnessMonitor extends RungeKutta {
  private h = 0;
  private y: unknown = null;
  private work: RKWork<unknown> | null = null;
  private pending = false;
  private tol: Tolerance | null = null;
  private stiffRun = 0;
  private calmRun = 0;
  private readonly inner: number;
  private readonly atEnd: number;

  constructor() {
    super(tsit5);
    const c = tsit5.c;
    this.atEnd = c.length - 1;
    this.inner = c.lastIndexOf(1, this.atEnd - 1);
  }

  override stepper<Y>(space: StateSpace<Y>, f: VectorField<Y>, work: RKWork<Y>, tol: Tolerance | null, fn: string): Stepper<Y> {
    const step = super.stepper(space, f, work, tol, fn);
    this.work = work as RKWork<unknown>;
    this.tol = tol;
    return (t, y, h) => {
      this.h = h;
      this.y = y;
      this.pending = true;
      return step(t, y, h);
    };
  }

  /**
   * Called with y₁ after each accepted step (and with y₀ before the first, which is ignored):
   * whether stiffness is now confirmed.
   */
  accepted(y1: unknown): boolean {
    if (!this.pending) return false;
    this.pending = false;
    const hRho = y1 instanceof Float64Array ? this.hRhoFloat64(y1) : tensorHRho(this.h, this.y as never, y1 as never, this.work!.ks as never, this.tableau.a, this.inner, this.atEnd, this.tol!);
    if (hRho > STIFF_HRHO) {
      this.calmRun = 0;
      return ++this.stiffRun >= STIFF_STEPS;
    }
    if (++this.calmRun >= NONSTIFF_STEPS) this.stiffRun = 0;
    return false;
  }

  private hRhoFloat64(y1: Float64Array): number {
    const ks = this.work!.ks as unknown as Float64Array[];
    const y = this.y as unknown as Float64Array;
    const a = this.tableau.a[this.inner]!;
    const kIn = ks[this.inner]!;
    const kEnd = ks[this.atEnd]!;
    let num = 0;
    let den = 0;
    const { rtol, atol } = this.tol!;
    for (let r = 0; r < y.length; r++) {
      let acc = 0;
      for (let j = 0; j < a.length; j++) acc += a[j]! * ks[j]![r]!;
      // Weighted by the error scale 1/(atol + rtol·|y|), so a small, tightly controlled stiff
      // component (Robertson's y₂) is not drowned by large slow ones in the Rayleigh quotient.
      const w = 1 / ((typeof atol === 'number' ? atol : atol[r]!) + (typeof rtol === 'number' ? rtol : rtol[r]!) * Math.abs(y1[r]!));
      const dy = w * (y1[r]! - (y[r]! + this.h * acc));
      const dk = w * (kEnd[r]! - kIn[r]!);
      num += dk * dk;
      den += dy * dy;
    }
    return den > 0 ? Math.abs(this.h) * Math.sqrt(num / den) : 0;
  }
}

/** Arguments of {@link solveAuto}: a float64 or tensor problem, tolerances and what to save. */
export interface AutoArgs<Y> {
  f: VectorField<Y>;
  y0: Y | ArrayLike<number>;
  t0: number;
  t1: number;
  tolerance: PIDOptions;
  saveAt: SaveAt;
  events?: readonly OdeEvent<Y>[];
  eventTol?: number;
  maxSteps?: number;
  stiff?: ImplicitOptions;
  space?: StateSpace<Y>;
  fn: string;
}

/** The tsit5 part of an `auto` solve: until t1, or until the step that confirmed stiffness. */
function explicitSegment<Y>(args: AutoArgs<Y>): { first: Solution<Y>; userEvents: EventRecord<Y>[]; tSwitch: number | null } {
  const { f, t0, t1, tolerance, saveAt, eventTol, space, fn } = args;
  const events = args.events ?? [];
  if (!Array.isArray(events)) throw new InvalidArgumentError(fn, 'events', events, 'must be an array of { g(t, y) } objects, got {value}.');
  const dir = t1 >= t0 ? 1 : -1;
  const monitor = new StiffnessMonitor();
  let switchAt: number | null = null;
  const switchEvent: OdeEvent<Y> = {
    name: 'auto: switch to rodas5',
    direction: 'falling',
    terminal: true,
    // Exactly 0 at the end of the step that confirmed stiffness, so the solve stops there with y₁ itself.
    g: (t, y) => {
      if (switchAt === null && monitor.accepted(y)) switchAt = t;
      return switchAt === null || (t - switchAt) * dir < 0 ? 1 : 0;
    },
  };
  const first = solve({
    f, y0: args.y0, t0, t1, solver: monitor, controller: new PIDController(tolerance), saveAt,
    events: [...events, switchEvent], eventTol, maxSteps: args.maxSteps ?? 100_000, space, fn,
  });
  const own = (r: EventRecord<Y>): boolean => r.index === events.length;
  const switched = first.terminal !== null && own(first.terminal);
  return { first, userEvents: first.events.filter((r) => !own(r)), tSwitch: switched ? first.terminal!.t : null };
}

/**
 * Where `auto` would switch to rodas5 (null: never), found by its tsit5 part alone with nothing
 * saved; the checkpoint gradient then solves the two parts as two gradient solves.
 */
export function autoSwitchTime<Y>(args: Omit<AutoArgs<Y>, 'saveAt' | 'events' | 'stiff'>): { tSwitch: number | null; stats: SolveStats } {
  const { first, tSwitch } = explicitSegment({ ...args, saveAt: new SaveAt({ t0: false, t1: false }) });
  first.dispose();
  return { tSwitch, stats: first.stats };
}

/** The statistics of two consecutive solves as one. */
export function sumStats(a: SolveStats, b: SolveStats): SolveStats {
  const stats: SolveStats = { ...a };
  for (const key of ['nfe', 'nAccepted', 'nRejected', 'nSteps', 'njev', 'nlu'] as const) stats[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return stats;
}

/** Solves with tsit5, switching to rodas5 where stiffness is detected (see the module comment). */
export function solveAuto<Y>(args: AutoArgs<Y>): AutoSolution<Y> {
  const { f, t0, t1, tolerance, saveAt, eventTol, space, fn } = args;
  const maxSteps = args.maxSteps ?? 100_000;
  const events = args.events ?? [];
  const dir = t1 >= t0 ? 1 : -1;
  const { first, userEvents, tSwitch } = explicitSegment(args);
  if (tSwitch === null) {
    return new AutoSolution([], first.ts, first.ys, first.stats, userEvents, first.terminal, t0, first.t1, first.dense);
  }
  const switchState = first.terminal!.y;
  const rest = (saveAt.ts ?? []).filter((tr) => (tr - tSwitch) * dir > 0);
  const switches = [{ t: tSwitch, from: 'tsit5', to: 'rodas5' }];
  // The two segments as one solution (also the partial one when the second runs out of steps).
  const join = (second: Solution<Y>): AutoSolution<Y> => {
    if (first.dense && second.dense) first.dense.extend(second.dense);
    // The switch state is no output (a tensor one is freed; on the tape its gradient still flows).
    if (switchState instanceof tf.Tensor) switchState.dispose();
    // A partial second segment keeps its status ('max_steps'), as solve's own partial solutions do.
    return new AutoSolution(switches, [...first.ts, ...second.ts], [...first.ys, ...second.ys], sumStats(first.stats, second.stats), [...userEvents, ...second.events], second.terminal, t0, second.t1, first.dense, second.status === 'max_steps' ? 'max_steps' : null);
  };
  try {
    return join(solve({
      f, y0: switchState, t0: tSwitch, t1, solver: new Rosenbrock(rodas5, args.stiff), controller: new PIDController(tolerance),
      saveAt: new SaveAt({ ts: rest.length > 0 ? rest : undefined, steps: saveAt.steps, dense: saveAt.dense, t0: false, t1: saveAt.t1 }),
      events, eventTol, maxSteps: Math.max(1, maxSteps - first.stats.nSteps), space, fn,
    }));
  } catch (e) {
    if (!(e instanceof MaxStepsExceededError)) {
      first.dispose();
      throw e;
    }
    throw new MaxStepsExceededError(
      `${fn}: maxSteps = ${maxSteps} steps were not enough to reach t1 = ${t1} (stopped at t = ${e.t}; tsit5 until t = ${tSwitch}, rodas5 after). Raise maxSteps or loosen rtol/atol.`,
      e.t, join(e.partial as Solution<Y>),
    );
  }
}
