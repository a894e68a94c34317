/**
 * The continuous normalizing flow as a bijector (FFJORD). `forward` integrates data → latent over
 * [0, T] together with the log-density change, `inverse` integrates back from T to 0:
 *   dz/dt = f(t, z),   dL/dt = tr(∂f/∂z),   log|det ∂z(T)/∂z(0)| = L(T) − L(0).
 * The trace is exact (one VJP per dimension) or Hutchinson's estimate εᵀ(∂f/∂z)ε with one probe
 * per solve (Gaussian or Rademacher).
 *
 * References: Chen et al., "Neural Ordinary Differential Equations", arXiv:1806.07366;
 * Grathwohl et al., "FFJORD", arXiv:1810.01367.
 */
import { tf } from '../backend/engine.js';
import { InvalidArgumentError } from '../errors.js';
import type { Bijector, BijectorConfig, BijectorResult, InverseResult } from '../flows/bijector.js';
import { ODENet } from '../nn/odenet.js';
import type { ActivationName } from '../nn/activations.js';
import type { LayerKind } from '../nn/odenet.js';
import { odeint } from '../ode/odeint.js';
import type { GradientMode } from '../ode/gradients.js';
import type { MethodName } from '../ode/tableaux/index.js';

export type TraceEstimator = 'exact' | 'hutchinson';

/** x in value, no gradient (tfjs has no stopGradient op). */
const stopGradient = tf.customGrad((x: unknown) => ({
  value: tf.clone(x as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

export interface CNFOptions {
  dim: number;
  hidden?: number[];
  layer?: LayerKind;
  activation?: ActivationName;
  /** End time T (default 0.5). */
  T?: number;
  method?: MethodName;
  rtol?: number;
  atol?: number;
  /** Fixed-step methods: the step. */
  stepSize?: number;
  /** Learn the end time T (as FFJORD does, T = s² with s trained); default true. */
  trainT?: boolean;
  gradient?: GradientMode;
  /** Default: exact for dim ≤ 8, Hutchinson otherwise. */
  trace?: TraceEstimator;
  probe?: 'gaussian' | 'rademacher';
  seed?: number;
}

export interface CNFStats {
  /** Function evaluations of the last forward and inverse solves (and the last backward pass). */
  nfeForward: number;
  nfeInverse: number;
  nfeBackward: number;
}

export class CNF implements Bijector {
  readonly dim: number;
  readonly net: ODENet;
  /** √T, trained when `trainT` (FFJORD's parametrisation keeps T positive). */
  readonly sqrtT: tf.Variable;
  private readonly trainT: boolean;
  /** Which divergence `forward`/`inverse` use; switch to 'exact' for evaluation. */
  trace: TraceEstimator;
  readonly stats: CNFStats = { nfeForward: 0, nfeInverse: 0, nfeBackward: 0 };
  private probeCount = 0;

  constructor(private readonly options: CNFOptions) {
    const { dim, hidden = [64, 64, 64], layer = 'concatsquash', activation = 'tanh', T = 0.5, seed = 0 } = options;
    if (!Number.isInteger(dim) || dim < 1) throw new InvalidArgumentError('CNF', 'dim', dim, 'must be a positive integer, got {value}.');
    if (!(T > 0)) throw new InvalidArgumentError('CNF', 'T', T, 'must be a positive end time, got {value}. The usual value is 0.5.');
    this.dim = dim;
    this.trainT = options.trainT ?? true;
    this.sqrtT = tf.tidy(() => tf.variable(tf.scalar(Math.sqrt(T)), this.trainT));
    this.trace = options.trace ?? (dim <= 8 ? 'exact' : 'hutchinson');
    this.net = new ODENet({ dim, hidden, layer, activation, seed });
  }

  /**
   * [dz/dt, dL/dt(, dε/dt = 0)] for the augmented state [z, L(, ε)]. Hutchinson's probe ε rides
   * along as a constant state element, so every gradient mode (including a backward pass that
   * runs long after this call) sees the same probe without anyone having to keep it alive.
   */
  private field() {
    return (t: number, [z, , probe]: tf.Tensor[]): tf.Tensor[] => {
      let fz: tf.Tensor | null = null;
      if (probe) {
        const vjp = tf.grad((zz: tf.Tensor) => {
          fz = tf.keep(this.net.apply(t, zz));
          return tf.sum(tf.mul(fz, probe));
        })(z!);
        const div = tf.sum(tf.mul(vjp, probe), 1, true);
        vjp.dispose();
        const out = [tf.clone(fz!), div, tf.zerosLike(probe)];
        (fz as unknown as tf.Tensor).dispose();
        return out;
      }
      // Exact trace: one VJP per dimension, e_iᵀ(∂f/∂z)e_i summed.
      const parts: tf.Tensor[] = [];
      for (let i = 0; i < this.dim; i++) {
        const e = tf.oneHot(tf.fill([z!.shape[0]!], i, 'int32'), this.dim).toFloat();
        const vjp = tf.grad((zz: tf.Tensor) => {
          const f = this.net.apply(t, zz);
          if (i === 0) fz = tf.keep(f);
          return tf.sum(tf.mul(f, e));
        })(z!);
        parts.push(tf.sum(tf.mul(vjp, e), 1, true));
        tf.dispose([vjp, e]);
      }
      const out = [tf.clone(fz!), tf.addN(parts)];
      (fz as unknown as tf.Tensor).dispose();
      tf.dispose(parts);
      return out;
    };
  }

  private drawProbe(n: number): tf.Tensor | null {
    if (this.trace === 'exact') return null;
    const seed = (this.options.seed ?? 0) * 1_000_003 + ++this.probeCount;
    const g = tf.randomNormal([n, this.dim], 0, 1, 'float32', seed);
    if (this.options.probe !== 'rademacher') return g;
    const r = tf.sign(g);
    g.dispose();
    return r;
  }

  /** The current end time T (a number: solver time stays float64). */
  get T(): number {
    return this.sqrtT.dataSync()[0]! ** 2;
  }

  private integrate(x: tf.Tensor2D, toLatent: boolean): { y: tf.Tensor2D; logDet: tf.Tensor1D; nfe: number; backward: () => number } {
    const { method = 'dopri5', rtol = 1e-5, atol = 1e-5, stepSize, gradient = 'backsolve' } = this.options;
    const T = this.T;
    const [t0, t1] = toLatent ? [0, T] : [T, 0];
    const probe = this.drawProbe(x.shape[0]);
    const l0 = tf.zeros([x.shape[0], 1]);
    const y0 = probe ? [x, l0, probe] : [x, l0];
    try {
      const field = this.field();
      const sol = odeint(field, y0, [t0, t1], { method, rtol, atol, stepSize, gradient, params: this.net.variables });
      let end = sol.ys[1] as tf.Tensor[];
      if (toLatent && this.trainT) {
        // d(solution)/dT = f(T, y(T)): add (T − stop(T))·f, which is zero in value and carries
        // exactly that gradient to √T whatever the gradient mode of the solve.
        const solved = end;
        end = tf.tidy(() => {
          const dT = tf.sub(tf.square(this.sqrtT), stopGradient(tf.square(this.sqrtT)));
          const slope = field(T, solved);
          return solved.map((e, i) => tf.add(e, tf.mul(dT, slope[i]!)));
        });
        tf.dispose(solved);
      }
      const [z, L, ...rest] = end;
      const logDet = tf.reshape(L!, [-1]) as tf.Tensor1D;
      tf.dispose([L!, ...rest, ...(sol.ys[0] as tf.Tensor[])]);
      return { y: z as tf.Tensor2D, logDet, nfe: sol.stats.nfe, backward: () => sol.adjointStats?.nfe ?? 0 };
    } finally {
      tf.dispose([l0, ...(probe ? [probe] : [])]);
    }
  }

  private lastBackward: () => number = () => 0;

  forward(x: tf.Tensor2D): BijectorResult {
    const r = this.integrate(x, true);
    this.stats.nfeForward = r.nfe;
    this.lastBackward = r.backward;
    return { y: r.y, logDet: r.logDet };
  }

  /** Forward, inverse and backward NFE of the latest solves (the backward one once it has run). */
  solverStats(): Record<string, number> {
    this.stats.nfeBackward = this.lastBackward();
    return { ...this.stats };
  }

  inverse(y: tf.Tensor2D): InverseResult {
    const r = this.integrate(y, false);
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
  }
}
