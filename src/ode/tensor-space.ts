/**
 * Tensor states for neural vector fields: batched `[B, D]` float32 tfjs tensors (one step size
 * for the whole batch, as torchdiffeq), and tuples of them (`[z, logp, …]`, like diffrax pytrees).
 *
 * Tensors are immutable, so every operation returns a new one. Memory is managed by scopes:
 * the solve opens one, and after every step `collect` disposes whatever the step made except the
 * live state and fresh outputs, which move to the caller's scope. Inside `tf.grad` this is safe:
 * tfjs keeps its own copies of the tensors a gradient needs.
 */
import { tf } from '../backend/engine.js';
import { BiflowError, InvalidArgumentError } from '../errors.js';
import type { SolveScope, StateSpace, Tolerance, VectorField } from './space.js';

type Tensor = tf.Tensor;

/** A tensor's values, or null where the backend cannot read synchronously (WebGPU in Node: tfjs raises a ReferenceError there). */
export function syncData(t: Tensor): tf.TypedArray | null {
  try {
    return t.dataSync() as tf.TypedArray;
  } catch (e) {
    if (e instanceof ReferenceError && /OffscreenCanvas/.test(e.message)) return null;
    throw e;
  }
}

/** One number from a scalar tensor, or null where the backend cannot read synchronously. */
function syncRead(t: Tensor): number | null {
  const v = syncData(t);
  return v === null ? null : v[0]!;
}

/** The error norm's one device→host read per step; adaptive steps cannot do without it. */
function readScalar(t: Tensor): number {
  const v = syncRead(t);
  if (v === null) {
    throw new BiflowError(
      'solve: adaptive steps read one number per step from the device, and the WebGPU backend in Node can only read asynchronously. ' +
        "Use a fixed-step method (e.g. { method: 'rk4', stepSize }) on WebGPU, or the 'wasm' backend for adaptive solves.",
    );
  }
  return v;
}

/** The finiteness check, skipped (true) where no synchronous read exists: fixed steps still run there. */
function readFlag(t: Tensor): boolean {
  const v = syncRead(t);
  return v === null || v === 1;
}

/**
 * One solve's tfjs scope. Each `collect` ends the step's scope, moving the live state and fresh
 * outputs to the enclosing scope, and disposes the state it kept last time that is now dead.
 */
class TensorScope implements SolveScope<Tensor[]> {
  private kept = new Set<Tensor>();
  private open = true;
  /** Tensors with smaller ids existed before the solve (y0, constants f returns): never ours to free. */
  private readonly firstId = (tf.engine() as unknown as { nextTensorId(): number }).nextTensorId();

  constructor() {
    tf.engine().startScope();
  }

  private release(dead: Iterable<Tensor>, alive: Set<Tensor>): void {
    for (const t of dead) if (!alive.has(t) && t.id >= this.firstId && !t.isDisposed) t.dispose();
  }

  collect(state: Tensor[][], fresh: Tensor[][]): void {
    const live = state.flat();
    tf.engine().endScope([...live, ...fresh.flat()] as never);
    const alive = new Set(live);
    this.release(this.kept, alive);
    this.kept = alive;
    tf.engine().startScope();
  }

  close(outputs: Tensor[][]): void {
    if (!this.open) return;
    this.open = false;
    const out = outputs.flat();
    tf.engine().endScope(out as never);
    this.release(this.kept, new Set(out));
    this.kept = new Set();
  }
}

function checkTensorTolerance(tol: Tolerance, fn: string): void {
  for (const key of ['rtol', 'atol'] as const) {
    const v = tol[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new InvalidArgumentError(fn, key, v, 'must be a non-negative finite number for tensor states, got {value}. Pass e.g. { rtol: 1e-5, atol: 1e-5 }.');
    }
  }
  if (tol.rtol === 0 && tol.atol === 0) throw new InvalidArgumentError(fn, 'atol', 0, 'and rtol are both 0; the error test could never pass. Give one of them a positive value.');
  if (tol.norm !== undefined && tol.norm !== 'rms' && tol.norm !== 'max') {
    throw new InvalidArgumentError(fn, 'norm', tol.norm, "must be 'rms' or 'max' for tensor states, got {value}.");
  }
}

/**
 * Whether every entry of every tensor is finite (true when there are no entries). tfjs's `all`
 * over an empty tensor is not `true` (0 on cpu, arbitrary memory on wasm), so an empty element
 * (the parameter adjoint of a backsolve without parameters) must not reach it.
 */
function allFinite(ys: readonly Tensor[]): boolean {
  const nonEmpty = ys.filter((t) => t.size > 0);
  if (nonEmpty.length === 0) return true;
  const all = tf.tidy(() => (nonEmpty.length === 1 ? tf.all(tf.isFinite(nonEmpty[0]!)) : tf.all(tf.stack(nonEmpty.map((t) => tf.all(tf.isFinite(t)))))));
  const ok = readFlag(all);
  all.dispose();
  return ok;
}

/** Σ over the scaled error: returns [sum of squares or max, count] as tensors. */
function scaledParts(err: Tensor, y0: Tensor, y1: Tensor, tol: Tolerance): Tensor {
  const scale = tf.add(tol.atol as number, tf.mul(tol.rtol as number, tf.maximum(tf.abs(y0), tf.abs(y1))));
  const e = tf.div(err, scale);
  return tol.norm === 'max' ? tf.max(tf.abs(e)) : tf.sum(tf.square(e));
}

function lincombTensor(base: Tensor | null, scale: number, coeffs: ArrayLike<number>, vecs: readonly Tensor[], n: number): Tensor {
  return tf.tidy(() => {
    const terms: Tensor[] = base === null ? [] : [base];
    for (let j = 0; j < n; j++) {
      const c = coeffs[j]!;
      if (c !== 0) terms.push(tf.mul(vecs[j]!, scale * c));
    }
    if (terms.length === 0) return tf.zerosLike(vecs[0] ?? base!);
    return terms.length === 1 ? (terms[0] === base ? tf.clone(base) : terms[0]!) : tf.addN(terms);
  });
}

function describeShape(t: unknown): string {
  return t instanceof tf.Tensor ? `a ${t.dtype} tensor of shape [${t.shape.join(', ')}]` : typeof t === 'object' ? 'a non-tensor object' : String(t);
}

function checkTensor(t: unknown, like: Tensor, fn: string, what: string, time: number): Tensor {
  if (!(t instanceof tf.Tensor) || t.isDisposed) {
    throw new InvalidArgumentError(fn, 'f', describeShape(t), `must return a tf.Tensor for ${what}, got {value} at t = ${time}.`);
  }
  if (t.shape.length !== like.shape.length || t.shape.some((d: number, i: number) => d !== like.shape[i])) {
    throw new InvalidArgumentError(fn, 'f', t.shape, `returned a tensor of shape {value} at t = ${time} for ${what} of shape [${like.shape.join(', ')}]. Make f return dy/dt with the state's shape.`);
  }
  return t;
}

/** Batched float32 tensor states; the error norm is taken over the whole batch. */
export class TensorSpace implements StateSpace<Tensor> {
  readonly name = 'tf.Tensor';

  init(y0: Tensor, fn: string): Tensor {
    if (!(y0 instanceof tf.Tensor) || y0.isDisposed) throw new InvalidArgumentError(fn, 'y0', describeShape(y0), 'must be a live tf.Tensor, got {value}.');
    if (y0.dtype !== 'float32') throw new InvalidArgumentError(fn, 'y0', describeShape(y0), 'must be float32, got {value}. Cast it with y0.toFloat().');
    return tf.clone(y0);
  }
  buffer(like: Tensor): Tensor {
    return like;
  }
  copy(y: Tensor): Tensor {
    return tf.clone(y);
  }
  lincomb(_out: Tensor, base: Tensor | null, scale: number, coeffs: ArrayLike<number>, vecs: readonly Tensor[], n: number): Tensor {
    return lincombTensor(base, scale, coeffs, vecs, n);
  }
  evaluate(f: VectorField<Tensor>, t: number, y: Tensor, _out: Tensor, fn: string): Tensor {
    const r = checkTensor(f(t, y, _out), y, fn, 'a state', t);
    return r === y ? tf.clone(r) : r;
  }
  errorNorm(err: Tensor, y0: Tensor, y1: Tensor, tol: Tolerance): number {
    const part = tf.tidy(() => scaledParts(err, y0, y1, tol));
    const v = readScalar(part);
    part.dispose();
    return tol.norm === 'max' ? v : Math.sqrt(v / err.size);
  }
  isFinite(y: Tensor): boolean {
    return allFinite([y]);
  }
  checkTolerance(tol: Tolerance, _y0: Tensor, fn: string): void {
    checkTensorTolerance(tol, fn);
  }
  openScope(): SolveScope<Tensor> {
    const scope = new TensorScope();
    return { collect: (state, fresh) => scope.collect([state], [fresh]), close: (outputs) => scope.close([outputs]) };
  }
}

/** Options of a {@link TupleSpace}: which components enter the error norm. */
export interface TupleSpaceOptions {
  /**
   * Elements that take part in the error norm (default all). Leaving some out gives a seminorm
   * (Kidger, Chen, Lyons 2021): e.g. the parameter-adjoint part of an adjoint state.
   */
  include?: readonly boolean[];
}

/** Tuples of tensors `[z, logp, …]`: each element scaled by the tolerances, one RMS over all. */
export class TupleSpace implements StateSpace<Tensor[]> {
  readonly name = 'tuple of tf.Tensor';

  constructor(readonly options: TupleSpaceOptions = {}) {}

  init(y0: Tensor[], fn: string): Tensor[] {
    if (!Array.isArray(y0) || y0.length === 0) throw new InvalidArgumentError(fn, 'y0', y0, 'must be a non-empty array of tf.Tensor, got {value}.');
    return y0.map((t, i) => {
      if (!(t instanceof tf.Tensor) || t.isDisposed || t.dtype !== 'float32') {
        throw new InvalidArgumentError(fn, `y0[${i}]`, describeShape(t), 'must be a live float32 tf.Tensor, got {value}.');
      }
      return tf.clone(t);
    });
  }
  buffer(like: Tensor[]): Tensor[] {
    return like;
  }
  copy(y: Tensor[]): Tensor[] {
    return y.map((t) => tf.clone(t));
  }
  lincomb(_out: Tensor[], base: Tensor[] | null, scale: number, coeffs: ArrayLike<number>, vecs: readonly Tensor[][], n: number): Tensor[] {
    const size = (base ?? vecs[0]!).length;
    const out: Tensor[] = [];
    for (let e = 0; e < size; e++) {
      out.push(lincombTensor(base === null ? null : base[e]!, scale, coeffs, vecs.map((v) => v[e]!), n));
    }
    return out;
  }
  evaluate(f: VectorField<Tensor[]>, t: number, y: Tensor[], _out: Tensor[], fn: string): Tensor[] {
    const r = f(t, y, _out) as unknown;
    if (!Array.isArray(r) || r.length !== y.length) {
      throw new InvalidArgumentError(fn, 'f', Array.isArray(r) ? `an array of ${r.length}` : describeShape(r), `must return an array of ${y.length} tensors (one per state element), got {value} at t = ${t}.`);
    }
    return r.map((ri, i) => {
      const c = checkTensor(ri, y[i]!, fn, `state element ${i}`, t);
      return y.includes(c) ? tf.clone(c) : c;
    });
  }
  errorNorm(err: Tensor[], y0: Tensor[], y1: Tensor[], tol: Tolerance): number {
    const include = this.options.include;
    let count = 0;
    const part = tf.tidy(() => {
      const parts: Tensor[] = [];
      err.forEach((e, i) => {
        // An empty element adds nothing (and tfjs's max over no entries is not defined).
        if ((include && include[i] === false) || e.size === 0) return;
        parts.push(scaledParts(e, y0[i]!, y1[i]!, tol));
        count += e.size;
      });
      if (parts.length === 0) return tf.scalar(0);
      return tol.norm === 'max' ? tf.max(tf.stack(parts)) : tf.addN(parts);
    });
    const v = readScalar(part);
    part.dispose();
    return tol.norm === 'max' ? v : count === 0 ? 0 : Math.sqrt(v / count);
  }
  isFinite(y: Tensor[]): boolean {
    return allFinite(y);
  }
  checkTolerance(tol: Tolerance, _y0: Tensor[], fn: string): void {
    checkTensorTolerance(tol, fn);
  }
  openScope(): SolveScope<Tensor[]> {
    return new TensorScope();
  }
}
