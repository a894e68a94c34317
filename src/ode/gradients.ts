/**
 * Gradients of a tensor solve with respect to y0 and parameters, as a strategy (diffrax's
 * "adjoint"):
 *
 * - `direct`: the tfjs tape records every step; exact gradient of the discrete solve, memory
 *   grows with the number of steps. (This is simply `solve`, run inside `tf.grad`.)
 * - `backsolve`: the continuous adjoint (Chen et al. 2018, torchdiffeq's odeint_adjoint): the
 *   augmented state [y, a, a_θ] with a′ = −aᵀ∂f/∂y, a_θ′ = −aᵀ∂f/∂θ is solved backwards between
 *   consecutive output times, resetting y to the forward solution and adding the incoming
 *   gradient at each; memory independent of the number of steps. `adjointNorm: 'seminorm'` leaves
 *   a_θ out of the error estimate (Kidger, Chen, Lyons, "Hey, that's not an ODE", ICML 2021).
 * - `checkpoint`: the forward solve stores the state at every accepted step; the backward pass
 *   replays each step on the tape and pulls the cotangent through it: the exact gradient of the
 *   discrete solve (as `direct`) with O(steps) state memory and no tape across steps.
 *
 * Each is a `tf.customGrad` op whose inputs are y0's tensors and the parameters, so gradients
 * reach both inside `tf.grads`, `tf.variableGrads` and `optimizer.minimize`.
 */
import { tf } from '../backend/engine.js';
import { engineState, isRecording, releaseAbandonedTape, trainableDependencies, withTapeCleanup } from '../backend/tape.js';
import { InvalidArgumentError } from '../errors.js';
import { ConstantStepSize, PIDController } from './controller.js';
import type { StepSizeController } from './controller.js';
import { SaveAt } from './saveat.js';
import { solve, Solution } from './solve.js';
import type { SolveStats } from './solve.js';
import type { OdeSolver } from './solver-base.js';
import type { VectorField } from './space.js';
import { TupleSpace } from './tensor-space.js';

type Tensor = tf.Tensor;

/** How a tensor solve is differentiated: `direct` (the tape records every step), `backsolve` (continuous adjoint), `checkpoint` (replay of stored steps). */
export type GradientMode = 'direct' | 'backsolve' | 'checkpoint';

export interface GradientOptions {
  gradient: Exclude<GradientMode, 'direct'>;
  /** Tensors (usually tf.Variables) that f closes over and whose gradients are wanted. */
  params: readonly Tensor[];
  /** Backsolve: tolerances of the backward solve (default: the forward ones). */
  adjointRtol?: number;
  adjointAtol?: number;
  /** Backsolve: 'seminorm' leaves the parameter adjoint out of the error norm. */
  adjointNorm?: 'rms' | 'seminorm';
}

/** Counts of the backward pass, filled in when the gradient is computed. */
export interface AdjointStats extends SolveStats {
  /** Backward passes run so far on this solution. */
  passes: number;
}

export interface GradientSolveArgs {
  f: VectorField<Tensor[]>;
  /** The state as a tuple (a single tensor is a tuple of one). */
  y0: Tensor[];
  ts: number[];
  solver: OdeSolver;
  controller: StepSizeController;
  maxSteps?: number;
  fn: string;
}

const zeroStats = (): AdjointStats => ({ nfe: 0, nAccepted: 0, nRejected: 0, nSteps: 0, passes: 0 });
const addStats = (into: SolveStats, s: SolveStats): void => {
  into.nfe += s.nfe;
  into.nAccepted += s.nAccepted;
  into.nRejected += s.nRejected;
  into.nSteps += s.nSteps;
};

/** Σ over a tuple of ⟨x, w⟩ as one scalar (the VJP's objective). */
function dot(xs: readonly Tensor[], ws: readonly Tensor[]): Tensor {
  return tf.addN(xs.map((x, i) => tf.sum(tf.mul(x, ws[i]!))));
}

/**
 * Gradients of `objective` with respect to `xs`, zeros where it does not depend on one
 * (tfjs returns none for those). Safe to call from inside a backward pass.
 */
export function gradsOf(objective: () => Tensor, xs: readonly Tensor[]): Tensor[] {
  // Called from inside a backward pass, tfjs's gradients() would replace the outer pass's tape
  // and then null it; keep the outer tape and put it back (tfjs 4.22, engine.gradients).
  const state = engineState();
  const outerTape = state.activeTape;
  try {
    const { value, grads } = backwardStep(() => tf.engine().gradients(objective as () => tf.Scalar, xs as Tensor[], undefined, true));
    value.dispose();
    return xs.map((x, i) => grads[i] ?? tf.zerosLike(x));
  } finally {
    state.activeTape = outerTape;
  }
}

/**
 * Runs part of a backward pass (or a nested gradient). If it throws, what it recorded leaves the
 * tape and, at the outermost level, the tape the error abandons is freed: tfjs frees a tape's
 * saved tensors only after a pass that succeeds.
 */
export function backwardStep<T>(fn: () => T): T {
  try {
    return withTapeCleanup(fn);
  } catch (e) {
    releaseAbandonedTape();
    throw e;
  }
}

/**
 * Runs fn with the outer gradient tape paused: its ops are not recorded, yet gradients taken
 * inside fn (a CNF's divergence) work, on a tape of their own. tfjs runs a customGrad forward as a
 * kernel, where nested gradients would find nothing recorded; this restores the usual state for
 * the duration and puts the outer tape back afterwards (tfjs 4.22 engine state). Outside a kernel
 * it is a "no grad" scope: the learned inverse computes its frozen flow's states this way.
 */
export function withoutOuterTape<T>(fn: () => T): T {
  const state = engineState();
  const saved = { activeTape: state.activeTape, gradientDepth: state.gradientDepth, kernelDepth: state.kernelDepth };
  state.gradientDepth = 0;
  state.kernelDepth = 0;
  try {
    return fn();
  } finally {
    state.activeTape = saved.activeTape;
    state.gradientDepth = saved.gradientDepth;
    state.kernelDepth = saved.kernelDepth;
  }
}

/**
 * Solves with a memory-saving gradient. Returns the solution at `ts` (a tuple per time), whose
 * tensors carry the custom gradient, plus the backward pass's statistics.
 */
export function solveWithGradient(args: GradientSolveArgs, options: GradientOptions): { sol: Solution<Tensor[]>; adjointStats: AdjointStats } {
  const { f, y0, ts, solver, controller, maxSteps, fn } = args;
  const { gradient, params } = options;
  if (!Array.isArray(params) || params.some((p) => !(p instanceof tf.Tensor))) {
    throw new InvalidArgumentError(fn, 'params', params, `must be an array of tf.Tensor/tf.Variable (the parameters f uses) for gradient '${gradient}', got {value}. Pass e.g. { params: [W, b] }.`);
  }
  const nY = y0.length;
  const shapes = y0.map((t) => t.shape);
  const sizes = y0.map((t) => t.size);
  const nT = ts.length;
  const adjointStats = zeroStats();
  let forward: Solution<Tensor[]> | null = null;
  const space = new TupleSpace();

  // Where a gradient is being recorded, the first evaluation also finds the variables f reads.
  const fForward = isRecording() ? checkingParamsOnce(f, params, gradient, fn) : f;
  const op = tf.customGrad((...inputs: unknown[]) => {
    const save = inputs.pop() as (tensors: Tensor[]) => void;
    const y0in = inputs.slice(0, nY) as Tensor[];
    // The forward pass is not taped (tfjs runs customGrad's forward inside a kernel).
    const saveAt = gradient === 'checkpoint' ? SaveAt.ts(ts, { steps: true }) : SaveAt.ts(ts);
    const sol = withoutOuterTape(() => solve({ f: fForward, y0: y0in, t0: ts[0]!, t1: ts[nT - 1]!, solver, controller, saveAt, maxSteps, space, fn }));
    forward = sol;
    // Outputs at the requested times, in order; with SaveAt.steps() the step ends are mixed in.
    const atTs: Tensor[][] = [];
    const stepTs: number[] = [];
    const stepYs: Tensor[][] = [];
    {
      let k = 0;
      sol.ts.forEach((t, i) => {
        // With SaveAt.ts + steps a requested time that is also a step end appears twice,
        // requested entry first; the second one is the step's.
        const isRequested = k < nT && t === ts[k];
        if (isRequested) {
          atTs.push(sol.ys[i]!);
          k++;
        } else {
          stepTs.push(t);
          stepYs.push(sol.ys[i]!);
        }
      });
    }
    const flat = tf.concat(atTs.flatMap((y) => y.map((e) => tf.reshape(e, [-1]))));
    save(gradient === 'checkpoint' ? [...atTs.flat(), ...stepYs.flat()] : atTs.flat());
    return {
      value: flat,
      gradFunc: (dy: Tensor, saved: Tensor[]) => backwardStep(() => {
        adjointStats.passes++;
        const dys = unflatten(dy, nT, sizes, shapes);
        const ysAt: Tensor[][] = [];
        for (let i = 0; i < nT; i++) ysAt.push(saved.slice(i * nY, (i + 1) * nY));
        if (gradient === 'backsolve') return backsolve(f, ts, ysAt, dys, params, solver, options, args, adjointStats);
        const stepStates: Tensor[][] = [];
        const rest = saved.slice(nT * nY);
        for (let i = 0; i * nY < rest.length; i++) stepStates.push(rest.slice(i * nY, (i + 1) * nY));
        return checkpointBackward(f, ts, ysAt, dys, stepTs, stepStates, params, solver, adjointStats);
      }),
    };
  });
  const flat = op(...y0, ...params) as Tensor;
  const ys = unflatten(flat, nT, sizes, shapes);
  flat.dispose();
  const fwd = forward as Solution<Tensor[]> | null;
  // The forward solution's own tensors were only needed to build `flat`.
  fwd?.ys.forEach((y) => y.forEach((t) => t.dispose()));
  const stats = fwd ? fwd.stats : zeroStats();
  return { sol: new Solution(ts.slice(), ys, stats, [], null, ts[0]!, ts[nT - 1]!, null), adjointStats };
}

/**
 * f, whose first evaluation (the forward solve's f(t0, y0)) runs on a private tape to find the
 * trainable variables its output depends on; any not in `params` would get no gradient from
 * this op, silently (an optimizer skips them), so that is an error, as diffrax makes it. It costs
 * the bookkeeping of one taped evaluation, no extra evaluation and no backward pass.
 */
export function checkingParamsOnce(f: VectorField<Tensor[]>, params: readonly Tensor[], gradient: GradientMode, fn: string): VectorField<Tensor[]> {
  let checked = false;
  return (t, y, out) => {
    if (checked) return f(t, y, out);
    checked = true;
    const { result, variables } = trainableDependencies(() => f(t, y, out) as Tensor[]);
    const listed = new Set(params.map((p) => p.id));
    const missing = variables.filter((v) => !listed.has(v.id));
    if (missing.length > 0) {
      tf.dispose(result);
      const names = missing.map((v) => `${v.name} [${v.shape.join(', ')}]`);
      throw new InvalidArgumentError(fn, 'params', names,
        `must list every trainable tf.Variable that f reads, but misses {value}: gradient '${gradient}' reaches only y0 and params, so these would silently get no gradient. ` +
        'Add them to params (e.g. { params: [W, b] }, or [...net.variables]), or make a constant non-trainable (variable.trainable = false).');
    }
    return result;
  };
}

/**
 * The inverse of concatenating nT tuples of flattened tensors: splits `flat` back into nT tuples
 * with the element shapes `shapes` (the op's outputs, and its incoming cotangent).
 */
function unflatten(flat: Tensor, nT: number, sizes: number[], shapes: number[][]): Tensor[][] {
  const parts = tf.split(flat, new Array<number>(nT).fill(0).flatMap(() => sizes));
  const out: Tensor[][] = [];
  for (let i = 0; i < nT; i++) {
    out.push(parts.slice(i * sizes.length, (i + 1) * sizes.length).map((p, e) => {
      const r = tf.reshape(p, shapes[e]!);
      p.dispose();
      return r;
    }));
  }
  return out;
}

/** The continuous adjoint, integrated backwards between consecutive output times. */
function backsolve(
  f: VectorField<Tensor[]>,
  ts: number[],
  ysAt: Tensor[][],
  dys: Tensor[][],
  params: readonly Tensor[],
  solver: OdeSolver,
  options: GradientOptions,
  args: GradientSolveArgs,
  stats: AdjointStats,
): Tensor[] {
  const nY = ysAt[0]!.length;
  const tol = args.controller.tolerance;
  const rtol = options.adjointRtol ?? (typeof tol?.rtol === 'number' ? tol.rtol : 1e-6);
  const atol = options.adjointAtol ?? (typeof tol?.atol === 'number' ? tol.atol : 1e-6);
  // The parameter adjoint a_θ is one flat vector (as torchdiffeq's), so every stage combines three
  // tensors, not two plus one per parameter; the RMS norm over its entries is the same.
  const include = [...new Array<boolean>(2 * nY).fill(true), options.adjointNorm !== 'seminorm'];
  const space = new TupleSpace({ include });
  const sizes = params.map((p) => p.size);
  // Augmented dynamics: [y, a, a_θ]′ = [f, −aᵀ∂f/∂y, −aᵀ∂f/∂θ], one VJP per evaluation.
  const aug: VectorField<Tensor[]> = (t, state) => {
    const y = state.slice(0, nY);
    const a = state.slice(nY, 2 * nY);
    let fy: Tensor[] = [];
    const grads = gradsOf(() => {
      fy = (f(t, y, y) as Tensor[]).map((v) => tf.keep(v));
      return dot(fy, a);
    }, [...y, ...params]);
    // Clones are tracked by the solve's scope; the kept originals are freed here.
    const out = [...fy.map((v) => tf.clone(v)), ...grads.slice(0, nY).map((g) => tf.neg(g)), tf.tidy(() => (params.length ? tf.neg(tf.concat(grads.slice(nY).map((g) => tf.reshape(g, [-1])))) : tf.zeros([0])))];
    fy.forEach((v) => v.dispose());
    grads.forEach((g) => g.dispose());
    return out;
  };
  let a = dys[ts.length - 1]!.map((d) => tf.clone(d));
  let aTheta = tf.zeros([sizes.reduce((p, q) => p + q, 0)]);
  for (let i = ts.length - 1; i > 0; i--) {
    const controller = backwardController(args.controller, ts[i]!, ts[i - 1]!, rtol, atol);
    const sol = solve({
      f: aug, y0: [...ysAt[i]!, ...a, aTheta], t0: ts[i]!, t1: ts[i - 1]!, solver, controller, space, fn: `${args.fn} (backsolve)`,
      maxSteps: args.maxSteps,
    });
    addStats(stats, sol.stats);
    const end = sol.ys[0]!;
    const aNext = end.slice(nY, 2 * nY).map((ai, e) => tf.add(ai, dys[i - 1]![e]!));
    const thetaNext = tf.clone(end[2 * nY]!);
    end.forEach((t) => t.dispose());
    a.forEach((t) => t.dispose());
    aTheta.dispose();
    a = aNext;
    aTheta = thetaNext;
  }
  const parts = sizes.length ? tf.split(aTheta, sizes) : [];
  aTheta.dispose();
  return [...a, ...parts.map((g, j) => {
    const r = tf.reshape(g, params[j]!.shape);
    g.dispose();
    return r;
  })];
}

/** The controller for one backward interval t_hi → t_lo, matching the forward one. */
function backwardController(forward: StepSizeController, tHi: number, tLo: number, rtol: number, atol: number): StepSizeController {
  if (forward instanceof PIDController) return forward.withTolerance(rtol, atol);
  if (forward instanceof ConstantStepSize && forward.grid) {
    const [lo, hi] = tLo < tHi ? [tLo, tHi] : [tHi, tLo];
    const inside = forward.grid.filter((g) => g > lo && g < hi);
    const pts = [tLo, ...inside, tHi].sort((p, q) => p - q);
    return new ConstantStepSize({ grid: tLo < tHi ? pts.reverse() : pts });
  }
  return forward;
}

/**
 * Replays each accepted forward step on the tape, newest first, and pulls the cotangent through
 * it; outputs interpolated inside a step receive their cotangent in that step's replay.
 */
function checkpointBackward(
  f: VectorField<Tensor[]>,
  ts: number[],
  ysAt: Tensor[][],
  dys: Tensor[][],
  stepTs: number[],
  stepStates: Tensor[][],
  params: readonly Tensor[],
  solver: OdeSolver,
  stats: AdjointStats,
): Tensor[] {
  // Step boundaries: t0 (state y0 = ysAt[0]) and every accepted step end.
  const bounds = [ts[0]!, ...stepTs];
  const states = [ysAt[0]!, ...stepStates];
  const dir = ts[ts.length - 1]! >= ts[0]! ? 1 : -1;
  let a = ysAt[0]!.map((y) => tf.zerosLike(y));
  let aTheta = params.map((p) => tf.zerosLike(p));
  // Cotangents at the requested times; a time equal to a step end is pulled through that step.
  let k = ts.length - 1;
  for (let j = bounds.length - 1; j > 0; j--) {
    const tA = bounds[j - 1]!;
    const tB = bounds[j]!;
    const inside: number[] = [];
    while (k >= 0 && (ts[k]! - tA) * dir > 0) inside.unshift(k--);
    const y = states[j - 1]!;
    const nextA = a;
    const grads = gradsOf(() => {
      const sol = solve({
        f, y0: y, t0: tA, t1: tB, solver, controller: new ConstantStepSize({ dt: Math.abs(tB - tA) }),
        saveAt: SaveAt.ts([...inside.map((i) => ts[i]!).filter((t) => t !== tB), tB]), space: new TupleSpace(), fn: 'checkpoint replay',
      });
      addStats(stats, sol.stats);
      const terms: Tensor[] = [dot(sol.ys[sol.ys.length - 1]!, nextA)];
      let q = 0;
      for (const i of inside) {
        const yi = ts[i] === tB ? sol.ys[sol.ys.length - 1]! : sol.ys[q++]!;
        terms.push(dot(yi, dys[i]!));
      }
      return tf.addN(terms);
    }, [...y, ...params]);
    a = grads.slice(0, y.length);
    const gTheta = grads.slice(y.length);
    const summed = aTheta.map((g, i) => tf.add(g, gTheta[i]!));
    aTheta.forEach((g) => g.dispose());
    gTheta.forEach((g) => g.dispose());
    nextA.forEach((g) => g.dispose());
    aTheta = summed;
  }
  // A cotangent at t0 itself passes straight to y0.
  while (k >= 0) {
    const sum = a.map((ai, e) => tf.add(ai, dys[k]![e]!));
    a.forEach((t) => t.dispose());
    a = sum;
    k--;
  }
  return [...a, ...aTheta];
}
