/**
 * The continuous normalizing flow as a bijector (FFJORD). `forward` integrates data → latent over
 * [0, T] together with the log-density change, `inverse` integrates back from T to 0:
 *   dz/dt = f(t, z),   dL/dt = tr(∂f/∂z),   log|det ∂z(T)/∂z(0)| = L(T) − L(0).
 * The trace is exact (one tangent per dimension) or Hutchinson's estimate εᵀ(∂f/∂z)ε with one
 * probe per row (Gaussian or Rademacher).
 *
 * Exact by default: `forward` and `inverse` take the exact trace unless the call asks otherwise
 * (see {@link PassOptions}), as FFJORD evaluates with the exact divergence whenever it is not
 * training. The configured `trace` is the TRAINING estimator: what a pass marked
 * `{ training: true }` (`Flow.loss`, hence the trainer) uses, with a fresh probe per step.
 * `{ trace: 'hutchinson', seed }` gives the estimate on request, its probe a function of the seed.
 *
 * Rows: 0 rows give empty results without a solve; a row with a NaN or ±Inf entry gives NaN (its
 * latent row and log-det) and leaves the other rows' solve untouched, as a discrete block would.
 *
 * References: Chen et al., "Neural Ordinary Differential Equations", arXiv:1806.07366;
 * Grathwohl et al., "FFJORD", arXiv:1810.01367.
 */
import { tf } from '../backend/engine.js';
import { withTapeCleanup } from '../backend/tape.js';
import { readValues, stableDraw } from '../backend/reads.js';
import { InvalidArgumentError } from '../errors.js';
import { checkPassOptions } from '../flows/bijector.js';
import type { Bijector, BijectorConfig, BijectorResult, InverseResult, PassOptions, TraceEstimator } from '../flows/bijector.js';
import { leafBlocks } from '../flows/compose.js';
import { onFiniteRows } from '../flows/rows.js';
import { ODENet } from '../nn/odenet.js';
import { stopGradient } from '../nn/ops.js';
import type { AugmentedLayout } from '../nn/fused-field.js';
import { odeint } from '../ode/odeint.js';
import { checkCNFOptions } from './options.js';
import type { CNFOptions } from './options.js';

export type { CNFOptions, TraceEstimator };

/** Function evaluations of a {@link CNF}'s latest solves. */
export interface CNFStats {
  /** Function evaluations of the last forward and inverse solves (and the last backward pass). */
  nfeForward: number;
  nfeInverse: number;
  nfeBackward: number;
}

/** FFJORD's continuous normalizing flow as a bijector: dz/dt = f(t, z) with d log p/dt = −tr ∂f/∂z integrated from 0 (data) to T (latent), exact or Hutchinson trace (Grathwohl et al., arXiv:1810.01367). */
export class CNF implements Bijector {
  readonly dim: number;
  /** Width of the context rows the dynamics condition on (0: unconditional). */
  readonly contextDim: number;
  readonly net: ODENet;
  /** √T, trained when `trainT` (FFJORD's parametrisation keeps T positive). */
  readonly sqrtT: tf.Variable;
  private readonly trainT: boolean;
  /**
   * The TRAINING estimator: the divergence of passes marked `{ training: true }` (`Flow.loss`).
   * Every other pass is exact unless it asks for `{ trace: 'hutchinson', seed }`.
   */
  trace: TraceEstimator;
  readonly stats: CNFStats = { nfeForward: 0, nfeInverse: 0, nfeBackward: 0 };
  private probeCount = 0;

  constructor(private options: CNFOptions) {
    checkCNFOptions('CNF', options);
    if (options.dim === undefined) throw new InvalidArgumentError('CNF', 'dim', options.dim, 'must be a positive integer, got {value}.');
    const { dim, contextDim = 0, hidden = [64, 64, 64], layer = 'concatsquash', activation = 'tanh', T = 0.5, seed = 0 } = options;
    this.dim = dim;
    this.contextDim = contextDim;
    this.trainT = options.trainT ?? true;
    // The net first: if it cannot be built (too large), nothing is left allocated.
    this.net = new ODENet({ dim, hidden, layer, activation, contextDim, seed });
    this.sqrtT = tf.tidy(() => tf.variable(tf.scalar(Math.sqrt(T)), this.trainT));
    this.trace = options.trace ?? (dim <= 8 ? 'exact' : 'hutchinson');
  }

  /**
   * Derivatives of the augmented state, one tensor Y = [z; L; (E; F); (ε)] (a row per component):
   * dz/dt = f, dL/dt = tr(∂f/∂z), and for RNODE (while training) the kinetic energy dE/dt = ‖f‖²
   * and the Jacobian term dF/dt = ‖∂f/∂z‖²_F, estimated by ‖(∂f/∂z)ε‖² with Hutchinson's probe
   * and exact with the exact trace. The probe rides along as constant rows (dε/dt = 0), so every
   * gradient mode — including a backward pass that runs long after this call — sees the same one.
   * By default the net's closed-form op (ODENet.augmented) does the work; `fused: false` tapes it.
   * `pack`: the op takes the variables packed once for all its taped evaluations
   * (ODENet.packVariables; null where it cannot), the solve's `params` then; the caller disposes it.
   */
  private field(layout: AugmentedLayout, pack = false): { f: (t: number, y: tf.Tensor) => tf.Tensor; packed: tf.Tensor | null } {
    const fused = this.options.fused ?? true;
    const packed = fused && pack ? this.net.packVariables() : null;
    return { f: (t: number, y: tf.Tensor): tf.Tensor => this.net.augmented(t, y as tf.Tensor2D, layout, fused, packed), packed };
  }

  /**
   * Hutchinson's probes, a row per sample: from the training counter (`callSeed` null: a fresh
   * probe each training step) or a function of the call's seed and the block's own seed (the
   * same values for the same seed; never an integer, so never one of the training draws).
   */
  private drawProbe(n: number, callSeed: number | null): tf.Tensor {
    const own = (this.options.seed ?? 0) * 1_000_003;
    // stableDraw: a replayed attempt (runDeferred, WebGPU) draws the probe the first attempt drew.
    const seed = callSeed === null ? own + stableDraw(() => ++this.probeCount) : -(own + callSeed) - 0.5;
    const g = tf.randomNormal([n, this.dim], 0, 1, 'float32', seed);
    if (this.options.probe !== 'rademacher') return g;
    const r = tf.sign(g);
    g.dispose();
    return r;
  }

  /** How many Hutchinson probes this CNF has drawn: its random state, saved with it so a resumed run draws the probes the uninterrupted one would. */
  get probeState(): number {
    return this.probeCount;
  }

  /** Restores {@link probeState} (a non-negative integer). */
  setProbeState(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new InvalidArgumentError('CNF.setProbeState', 'count', count, 'must be a non-negative integer (a saved probeState), got {value}.');
    this.probeCount = count;
  }

  /** T − stop(T): zero in value, gradient 1 with respect to T (through √T). */
  private zeroWithTGradient(): tf.Scalar {
    return tf.tidy(() => tf.sub(tf.square(this.sqrtT), stopGradient(tf.square(this.sqrtT))) as tf.Scalar);
  }

  /** The current end time T (a number: solver time stays float64). */
  get T(): number {
    return readValues(tf.clone(this.sqrtT), 'CNF.T')[0]! ** 2;
  }

  /**
   * One pass in either direction under the row rules (0 rows: no solve; non-finite rows: NaN,
   * solved without them) and the trace rule (exact unless asked; see the class notes).
   */
  private pass(fn: string, x: tf.Tensor2D, toLatent: boolean, options: PassOptions | undefined): { y: tf.Tensor2D; logDet: tf.Tensor1D; nfe: number; backward: () => number } {
    const o = checkPassOptions(fn, options);
    if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[1] !== this.dim) throw new InvalidArgumentError(fn, 'x', x instanceof tf.Tensor ? x.shape : x, `must be a [N, ${this.dim}] tensor, got {value}.`);
    const context = this.checkContext(fn, options?.context, x.shape[0]);
    let stats = { nfe: 0, backward: () => 0 };
    const D = this.dim;
    // withTapeCleanup: a solve that throws under the caller's tape (a non-finite field) takes the
    // start state's concat and the rows' slices off the tape too, which would keep their saved tensors.
    // A conditional block filters the rows of [x, c] together: a row's context goes with it.
    const [y, logDet] = withTapeCleanup(() => {
      const xc = context ? tf.concat([x, context], 1) : x;
      try {
        return onFiniteRows(xc, (rows): [tf.Tensor2D, tf.Tensor1D] => {
          if (rows.shape[0] === 0) return [tf.zeros([0, D]), tf.zeros([0])];
          const [z, c] = context ? tf.split(rows, [D, this.contextDim], 1) as tf.Tensor2D[] : [rows, null];
          try {
            const r = this.integrate(z!, toLatent, o, c ?? null);
            stats = r;
            return [r.y, r.logDet] as [tf.Tensor2D, tf.Tensor1D];
          } finally {
            if (c) tf.dispose([z!, c]);
          }
        });
      } finally {
        if (context) xc.dispose();
      }
    });
    return { y, logDet, nfe: stats.nfe, backward: stats.backward };
  }

  /**
   * The context rows of a pass: `[N, contextDim]` for a conditional block (a typed error naming
   * `context` otherwise), null for an unconditional one, which ignores any context it is given.
   */
  private checkContext(fn: string, context: unknown, n: number): tf.Tensor2D | null {
    if (this.contextDim === 0) return null;
    if (!(context instanceof tf.Tensor) || context.isDisposed || context.rank !== 2 || context.shape[0] !== n || context.shape[1] !== this.contextDim) {
      const got = context instanceof tf.Tensor ? (context.isDisposed ? 'a disposed tensor' : context.shape) : context;
      throw new InvalidArgumentError(fn, 'context', got, `must be a [${n}, ${this.contextDim}] tensor (one context row per row) for a CNF with contextDim ${this.contextDim}, got {value}. Pass { context } in the options.`);
    }
    return context as tf.Tensor2D;
  }

  private integrate(x: tf.Tensor2D, toLatent: boolean, o: PassOptions, context: tf.Tensor2D | null): { y: tf.Tensor2D; logDet: tf.Tensor1D; nfe: number; backward: () => number } {
    const { method = 'dopri5', rtol = 1e-5, atol = 1e-5, stepSize, gradient = 'backsolve' } = this.options;
    const T = this.T;
    const [t0, t1] = toLatent ? [0, T] : [T, 0];
    const { kineticWeight = 0, jacobianWeight = 0 } = this.options;
    const training = o.training === true;
    // RNODE penalties belong to the training loss only.
    const regs = training && toLatent && (kineticWeight > 0 || jacobianWeight > 0);
    const hutch = (o.trace ?? (training ? this.trace : 'exact')) === 'hutchinson';
    const layout: AugmentedLayout = { dim: this.dim, regs, trace: hutch ? 'hutchinson' : 'exact', context: this.contextDim };
    const n = x.shape[0];
    const D = this.dim;
    const probe = hutch ? this.drawProbe(n, training && o.seed === undefined ? null : (o.seed ?? 0)) : null;
    // One row per component, one column per sample (see nn/fused-field.ts); the context rides as
    // constant rows (dc/dt = 0), so every gradient mode carries ∂loss/∂c back with the state.
    const y0 = tf.tidy(() => tf.concat([tf.transpose(x), tf.zeros([regs ? 3 : 1, n]), ...(probe ? [tf.transpose(probe)] : []), ...(context ? [tf.transpose(context)] : [])], 0));
    probe?.dispose();
    // Direct: every evaluation is taped; backsolve: every adjoint step takes a VJP of one, with
    // respect to `params` — the packed variables give one gradient each, not one per variable.
    const { f: field, packed } = this.field(layout, gradient === 'direct' || gradient === 'backsolve');
    try {
      const sol = odeint(field, y0, [t0, t1], { method, rtol, atol, stepSize, gradient, params: packed ? [packed] : this.net.variables });
      let end = sol.ys[1] as tf.Tensor;
      if (toLatent && this.trainT) {
        // d(solution)/dT = f(T, y(T)): add (T − stop(T))·f, which is zero in value and carries
        // exactly that gradient to √T whatever the gradient mode of the solve.
        const solved = end;
        end = tf.tidy(() => tf.add(solved, tf.mul(this.zeroWithTGradient(), field(T, solved))));
        solved.dispose();
      }
      if (regs) {
        // RNODE (Finlay et al. 2020): λ_K·E(T) + λ_J·F(T), averaged over the batch.
        // Kept so that it outlives the tidy scopes of Sequential/Flow; regularization() hands it over.
        this.lastRegularizer?.dispose();
        const last = end;
        this.lastRegularizer = tf.keep(tf.tidy(() => tf.add(tf.mul(kineticWeight, tf.mean(tf.slice(last, [D + 1, 0], [1, n]))), tf.mul(jacobianWeight, tf.mean(tf.slice(last, [D + 2, 0], [1, n]))))) as tf.Scalar);
      }
      const z = tf.tidy(() => tf.transpose(tf.slice(end, [0, 0], [D, n])) as tf.Tensor2D);
      const logDet = tf.tidy(() => tf.reshape(tf.slice(end, [D, 0], [1, n]), [-1]) as tf.Tensor1D);
      tf.dispose([end, sol.ys[0] as tf.Tensor]);
      return { y: z, logDet, nfe: sol.stats.nfe, backward: () => sol.adjointStats?.nfe ?? 0 };
    } finally {
      // The tape keeps what the packed variables' gradient needs (their shapes), not them.
      tf.dispose([y0, ...(packed ? [packed] : [])]);
    }
  }

  private lastBackward: () => number = () => 0;
  private lastRegularizer: tf.Scalar | null = null;

  /**
   * The RNODE penalty of the latest forward pass (λ_K·∫‖f‖² + λ_J·∫‖∂f/∂z‖²_F, batch mean), or null.
   * The caller takes ownership (and disposes it), as Flow.loss does.
   */
  regularization(): tf.Scalar | null {
    const r = this.lastRegularizer;
    this.lastRegularizer = null;
    return r;
  }

  /** data → latent; exact trace unless `options` ask otherwise (see the class notes). */
  forward(x: tf.Tensor2D, options?: PassOptions): BijectorResult {
    const r = this.pass('CNF.forward', x, true, options);
    this.stats.nfeForward = r.nfe;
    this.lastBackward = r.backward;
    return { y: r.y, logDet: r.logDet };
  }

  /**
   * States of the points x along the flow at `count` evenly spaced times from 0 (data) to T
   * (latent): `[count][N][dim]`, for trajectory plots. No gradient. A conditional block needs
   * the context rows `[N, contextDim]`.
   */
  trajectory(x: tf.Tensor2D, count = 21, context?: tf.Tensor2D): number[][][] {
    const c = this.checkContext('CNF.trajectory', context, x.shape[0]) ?? undefined;
    const { method = 'dopri5', rtol = 1e-5, atol = 1e-5, stepSize } = this.options;
    const T = this.T;
    const ts = Array.from({ length: count }, (_, i) => (T * i) / (count - 1));
    // The state alone: no divergence is needed to draw paths.
    const sol = odeint((t: number, z: tf.Tensor): tf.Tensor => this.net.apply(t, z, c), x, ts, { method, rtol, atol, stepSize });
    const n = x.shape[0];
    const out = sol.ys.map((y) => {
      const v = readValues(tf.clone(y as tf.Tensor), 'CNF.trajectory');
      return Array.from({ length: n }, (_, i) => Array.from({ length: this.dim }, (_, j) => v[i * this.dim + j]!));
    });
    sol.dispose();
    return out;
  }

  /**
   * The states of x along the forward flow at `interior` evenly spaced interior times and at T:
   * `interior + 1` tensors `[N, dim]` (x itself excluded), differentiable through the block's
   * gradient mode, √T included — the alignment targets of a learned one-pass inverse. A
   * conditional block needs the context rows `[N, contextDim]` (held fixed: no gradient to them).
   */
  path(x: tf.Tensor2D, interior: number, context?: tf.Tensor2D): tf.Tensor2D[] {
    if (!Number.isInteger(interior) || interior < 0) throw new InvalidArgumentError('CNF.path', 'interior', interior, 'must be an integer ≥ 0, got {value}.');
    const c = this.checkContext('CNF.path', context, x.shape[0]) ?? undefined;
    const { method = 'dopri5', rtol = 1e-5, atol = 1e-5, stepSize, gradient = 'backsolve' } = this.options;
    const T = this.T;
    const fractions = Array.from({ length: interior + 2 }, (_, i) => i / (interior + 1));
    const f = (t: number, z: tf.Tensor): tf.Tensor => this.net.apply(t, z, c);
    const sol = odeint(f, x, fractions.map((s) => s * T), { method, rtol, atol, stepSize, gradient, params: this.net.variables });
    const [start, ...states] = sol.ys as tf.Tensor2D[];
    start!.dispose();
    if (!this.trainT) return states;
    // As in integrate: h(sT) carries ∂h/∂T = s·f(sT, h) to √T through a zero-valued term.
    return states.map((h, k) => {
      const s = fractions[k + 1]!;
      const out = tf.tidy(() => {
        const dT = this.zeroWithTGradient();
        return tf.add(h, tf.mul(tf.mul(dT, s), f(s * T, h))) as tf.Tensor2D;
      });
      h.dispose();
      return out;
    });
  }

  /**
   * Changes the solver of later solves (method, tolerances, fixed step): what the tolerance
   * harness sweeps. The saved configuration changes with it.
   */
  setSolver(solver: Pick<CNFOptions, 'method' | 'rtol' | 'atol' | 'stepSize'>): void {
    this.options = { ...this.options, ...solver };
  }

  /** Forward, inverse and backward NFE of the latest solves (the backward one once it has run). */
  solverStats(): Record<string, number> {
    this.stats.nfeBackward = this.lastBackward();
    return { ...this.stats };
  }

  /** latent → data; exact trace unless `options` ask otherwise. */
  inverse(y: tf.Tensor2D, options?: PassOptions): InverseResult {
    const r = this.pass('CNF.inverse', y, false, options);
    this.stats.nfeInverse = r.nfe;
    return { x: r.y, logDet: r.logDet };
  }

  get trainableVariables(): tf.Variable[] {
    return this.trainT ? [...this.net.variables, this.sqrtT] : this.net.variables;
  }

  getConfig(): BijectorConfig {
    return { kind: 'cnf', ...this.options };
  }

  dispose(): void {
    this.net.dispose();
    this.sqrtT.dispose();
    this.lastRegularizer?.dispose();
  }
}

/**
 * Sets the TRAINING estimator of every CNF block in a bijector (what `Flow.loss` and the trainer
 * use). Evaluation needs no call: it is exact by default.
 *
 * @example
 * ```ts
 * import { createFlow, setTrace } from 'biflow';
 *
 * const flow = createFlow({ type: 'ffjord', dim: 2 });
 * setTrace(flow.bijector, 'hutchinson');  // train with one Hutchinson probe per step; evaluation stays exact
 * ```
 */
export function setTrace(b: Bijector, trace: TraceEstimator): void {
  for (const block of leafBlocks(b)) if (block instanceof CNF) block.trace = trace;
}
