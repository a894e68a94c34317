/**
 * The stiff methods' linear algebra on tensor states: one `[D]` state, or a `[B, D]` batch whose
 * rows are independent systems (as a neural ODE's samples are), alone or as the one element of
 * a tuple (the gradient modes' form).
 *
 * Jacobian: reverse mode, D vector–Jacobian products of the batched field. The cotangent eⱼ in
 * every row gives row j of all B Jacobians at once (rows do not interact), so a `[B, D]` state
 * costs D VJPs, not B·D; tfjs has no forward mode to do the same with tangents. Each VJP evaluates
 * f once (counted in `stats.nfe`) and runs one backward pass.
 *
 * LU: on the host, per row, in float64 ({@link BatchedLU}): the matrices are small (D ≤ a few
 * hundred) and tfjs has no LU op; a tensor-op LU would be D pivot steps of gather/scatter kernels
 * each. Solves go through a `tf.customGrad` op whose gradient is the transposed solve (and, for a
 * Jacobian on the tape, −∂M·x), so `direct` and `checkpoint` gradients pass through the stages.
 *
 * A Rosenbrock step's result depends on J itself (it is not a W-method), so there J is taken on the
 * tape (the VJPs' backward passes are recorded when a gradient is) and reaches the loss through the
 * solves. An ESDIRK's J only steers the Newton iteration: it is read off the tape and reused.
 */
import { tf } from '../backend/engine.js';
import { isRecording } from '../backend/tape.js';
import { BiflowError, InvalidArgumentError } from '../errors.js';
import { gradsOf, withoutOuterTape } from './gradients.js';
import type { StiffMatrix } from './implicit.js';
import { BatchedLU } from './linalg.js';
import type { SolveStats } from './solve.js';
import type { StateSpace, Tolerance, VectorField } from './space.js';
import { TensorSpace, TupleSpace } from './tensor-space.js';
import { canReadSync } from '../backend/reads.js';

type Tensor = tf.Tensor;

/** float32's unit roundoff: the floor of any tolerance on tensor states. */
export const FLOAT32_EPS = 2 ** -23;

/**
 * The stiff methods on tensor states factorise J on the host: where the backend cannot read
 * synchronously (WebGPU), a typed error before any work, naming the way out.
 */
export function requireHostReads(): void {
  if (!canReadSync()) {
    throw new BiflowError(
      `the stiff methods on tensor states factorise J on the host, and the '${tf.getBackend()}' backend in Node can only read tensors asynchronously. ` +
        "Run stiff tensor solves on the 'wasm' or 'cpu' backend (useBackend('wasm')), or use an explicit method (dopri5, tsit5) on this one.",
    );
  }
}

/** The host copy of a tensor the stiff methods' float64 linear algebra needs (J, a right-hand side). */
function hostData(t: Tensor): tf.TypedArray {
  requireHostReads();
  return t.dataSync() as tf.TypedArray;
}

/** How a tensor state holds its `[B, D]` rows (a `[D]` state is one row). */
interface Layout {
  readonly tuple: boolean;
  readonly B: number;
  readonly D: number;
}

/** Whether `space` is one of the tensor spaces (the stiff methods accept those and float64). */
export function isTensorSpace<Y>(space: StateSpace<Y>): boolean {
  return space instanceof TensorSpace || space instanceof TupleSpace;
}

/** The layout of a tensor state, or a typed error (before any work) for one the stiff methods cannot take. */
export function layoutOf(y0: unknown, method: string, fn: string): Layout {
  const tuple = Array.isArray(y0);
  const t = (tuple ? (y0.length === 1 ? y0[0] : null) : y0) as Tensor | null;
  if (!(t instanceof tf.Tensor) || t.rank < 1 || t.rank > 2 || t.size === 0) {
    const got = tuple ? `a tuple of ${(y0 as unknown[]).length} tensors` : t instanceof tf.Tensor ? `a tensor of shape [${t.shape.join(', ')}]` : String(y0);
    throw new InvalidArgumentError(fn, 'y0', got, `must be one non-empty tensor of shape [D] or [B, D] (rows independent systems) for the stiff method '${method}', got {value}. Concatenate the state's parts into one tensor, or use an explicit method (dopri5, tsit5).`);
  }
  return t.rank === 1 ? { tuple, B: 1, D: t.shape[0]! } : { tuple, B: t.shape[0]!, D: t.shape[1]! };
}

/** J, ∂f/∂t and the B factorised matrices I − hγJ_b of one tensor solve. */
export class TensorIterationMatrix<Y> implements StiffMatrix<Y> {
  ft: Y;
  factoredFor = NaN;
  private jt = NaN;
  private jy: Y | null = null;
  /** J on the tape (Rosenbrock only; its step's scope frees it). */
  private J: Tensor | null = null;
  private host: Float64Array;
  private lu: BatchedLU;
  private readonly layout: Layout;
  private readonly shape: number[];

  constructor(
    private readonly space: StateSpace<Y>,
    y0: Y,
    private readonly f: VectorField<Y>,
    /** Whether J must reach the loss (Rosenbrock) or only steers Newton (ESDIRK). */
    private readonly onTape: boolean,
    method: string,
    private readonly fn: string,
    private readonly stats: SolveStats,
  ) {
    this.layout = layoutOf(y0, method, fn);
    this.shape = this.unwrap(y0).shape;
    const { B, D } = this.layout;
    this.host = new Float64Array(B * D * D);
    this.lu = new BatchedLU(B, D);
    this.ft = y0;
  }

  private unwrap(y: Y): Tensor {
    return (this.layout.tuple ? (y as unknown as Tensor[])[0]! : y) as Tensor;
  }
  private wrap(t: Tensor): Y {
    return (this.layout.tuple ? [t] : t) as unknown as Y;
  }
  private field(t: number, y: Tensor): Tensor {
    this.stats.nfe++;
    const w = this.wrap(y);
    return this.unwrap(this.space.evaluate(this.f, t, w, w, this.fn));
  }

  isAt(t: number, y: Y): boolean {
    return this.jt === t && this.jy === y && (!this.onTape || (this.J !== null && !this.J.isDisposed));
  }

  /** J by D VJPs; ∂f/∂t by central differences in t (exactly 0 for an autonomous f). */
  evaluate(t: number, y: Y, _exact: Y | null, withTime: boolean): void {
    const { B, D } = this.layout;
    this.stats.njev!++;
    const state = this.unwrap(y);
    const jacobian = (): Tensor => {
      const rows: Tensor[] = [];
      for (let j = 0; j < D; j++) {
        const e = new Float32Array(D);
        e[j] = 1;
        const cot = tf.tidy(() => tf.mul(tf.onesLike(state), tf.tensor1d(e)));
        const [g] = gradsOf(() => tf.sum(tf.mul(this.field(t, state), cot)), [state]);
        rows.push(tf.reshape(g!, [B, D]));
      }
      return tf.stack(rows, 1);
    };
    if (this.onTape) {
      this.J = jacobian();
      this.host = Float64Array.from(hostData(this.J));
    } else {
      this.host = withoutOuterTape(() => {
        const J = jacobian();
        const v = Float64Array.from(hostData(J));
        J.dispose();
        return v;
      });
    }
    if (withTime) {
      const dt = Math.cbrt(FLOAT32_EPS) * Math.max(1, Math.abs(t));
      const up = this.field(t + dt, state);
      const down = this.field(t - dt, state);
      this.ft = this.wrap(tf.tidy(() => tf.div(tf.sub(up, down), 2 * dt)));
    }
    this.jt = t;
    this.jy = y;
    this.factoredFor = NaN;
  }

  factor(hg: number): boolean {
    this.stats.nlu!++;
    // A taped solve keeps its factorisation for the backward pass: a new one must not overwrite it.
    if (isRecording()) this.lu = new BatchedLU(this.layout.B, this.layout.D);
    const ok = this.lu.factor(this.host, hg);
    this.factoredFor = ok ? hg : NaN;
    return ok;
  }

  solve(b: Y, _out: Y): Y {
    const rhs = this.unwrap(b);
    const { lu, shape } = this;
    const hg = this.factoredFor;
    const host = (v: Tensor, transposed: boolean): Tensor => {
      const x = lu.solve(hostData(v), new Float64Array(v.size), transposed);
      return tf.tensor(Float32Array.from(x), shape);
    };
    if (this.onTape && this.J !== null) {
      const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
        const save = args[2] as tf.GradSaveFunc;
        const x = host(args[1] as Tensor, false);
        save([x]);
        return {
          value: x,
          // x = M⁻¹r with M = I − hγJ: r̄ = M⁻ᵀx̄, J̄_b = hγ·r̄_b x_bᵀ.
          gradFunc: (dx: Tensor, [xs]: Tensor[]) => {
            const gr = host(dx, true);
            const [r2, x2] = [tf.reshape(gr, [-1, this.layout.D, 1]), tf.reshape(xs!, [-1, 1, this.layout.D])];
            return [tf.mul(hg, tf.matMul(r2, x2)), gr];
          },
        };
      });
      return this.wrap(op(this.J, rhs) as Tensor);
    }
    const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => ({ value: host(args[0] as Tensor, false), gradFunc: (dx: Tensor) => host(dx, true) }));
    return this.wrap(op(rhs) as Tensor);
  }
}

/**
 * `auto`'s stiffness estimate on a tensor state: h·ρ with ρ ≈ ‖f(y₁) − f(Y_in)‖ / ‖y₁ − Y_in‖ in
 * the error-weighted norm (see auto.ts), per row of a `[B, D]` batch, and the largest over the
 * rows: the stiffest row limits the explicit step of the whole batch, so the batch switches as
 * one. y₁ − Y_in is formed from the stages, h·Σ(a_end − a_in)ⱼkⱼ, not by subtracting the two
 * states, whose float32 rounding would swamp a difference that small.
 */
export function tensorHRho(h: number, y: Tensor | Tensor[], y1: Tensor | Tensor[], ks: (Tensor | Tensor[])[], a: readonly ArrayLike<number>[], inner: number, atEnd: number, tol: Tolerance): number {
  const one = (v: Tensor | Tensor[]): Tensor => (Array.isArray(v) ? v[0]! : v);
  const state = one(y);
  const rows = state.rank === 1 ? [1, state.size] : state.shape;
  const value = withoutOuterTape(() => tf.tidy(() => {
    const aIn = a[inner]!;
    const aEnd = a[atEnd]!;
    const terms = Array.from(aEnd, (c, j) => tf.mul(one(ks[j]!), h * (c - (j < aIn.length ? aIn[j]! : 0))));
    const w = tf.reciprocal(tf.add(tol.atol as number, tf.mul(tol.rtol as number, tf.abs(one(y1)))));
    const dy = tf.reshape(tf.mul(tf.addN(terms), w), rows);
    const dk = tf.reshape(tf.mul(tf.sub(one(ks[atEnd]!), one(ks[inner]!)), w), rows);
    const num = tf.sum(tf.square(dk), 1);
    const den = tf.sum(tf.square(dy), 1);
    // A row whose two states coincide carries no estimate (0), as on float64 states.
    return tf.max(tf.where(tf.greater(den, 0), tf.div(num, tf.maximum(den, 1e-30)), tf.zerosLike(num)));
  }));
  const v = hostData(value)[0]!;
  value.dispose();
  return Math.abs(h) * Math.sqrt(v);
}
