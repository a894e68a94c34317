/**
 * A kernel runner: calls the active backend's kernels directly, below the engine. An engine op
 * costs several microseconds of bookkeeping on top of the kernel (tensor objects, scopes, tape
 * checks, profiling hooks); inside one op that does dozens of small steps — the CNF's closed-form
 * dynamics — that bookkeeping was most of the time at small batch sizes. The runner owns what its
 * kernels make and frees it in `free()`, except what `keep` hands to the engine as tensors.
 *
 * Values are `TensorInfo`s (a `tf.Tensor` is one too), so tensors and runner values mix freely.
 * Broadcasting, shapes and attributes are those of tfjs's kernels (the ops' own checks are not
 * run: callers pass well-formed shapes).
 */
import { tf } from './engine.js';
import { copyParts, ElementwiseProgram } from './webgpu-elementwise.js';

type TI = tf.TensorInfo;
type Backend = {
  write(values: Float32Array, shape: number[], dtype: 'float32'): unknown;
  disposeData(dataId: unknown, force?: boolean): boolean;
  incRef(dataId: unknown): void;
};
type Kernel = (args: { inputs: unknown; attrs: unknown; backend: Backend }) => TI | TI[];

/** The kernels the runner uses; a backend that lacks one cannot run it. */
const RUNNER_KERNELS = [
  'Add', 'Sub', 'Multiply', 'Square', 'Sigmoid', 'Softplus', 'Elu', 'Exp', 'Step', 'Minimum', 'Sum',
  'Transpose', 'Concat', 'Slice', 'Tile', 'BatchMatMul', '_FusedMatMul', 'Tanh',
] as const;

const kernelCache = new Map<string, Map<string, Kernel> | null>();

/** Backend kernels runners have called in this process (a diagnostic: `countKernels` reads it). */
let runnerCalls = 0;

/** How many backend kernels runners have called so far (engine ops are counted by `tf.profile`). */
export function runnerKernelCalls(): number {
  return runnerCalls;
}

/** The backend's kernels by name, or null if one is missing (cached per backend). */
function kernelsOf(backendName: string): Map<string, Kernel> | null {
  if (!kernelCache.has(backendName)) {
    const map = new Map<string, Kernel>();
    for (const name of RUNNER_KERNELS) {
      const k = tf.getKernel(name, backendName);
      if (!k) {
        kernelCache.set(backendName, null);
        return null;
      }
      map.set(name, k.kernelFunc as unknown as Kernel);
    }
    kernelCache.set(backendName, map);
  }
  return kernelCache.get(backendName)!;
}

/** Host access to float32 buffers: views of them, and new buffers owned by the runner. */
export interface HostBuffers {
  view(x: TI): Float32Array;
  alloc(shape: number[]): TI;
  /**
   * Part of x (`shape`, from float `offset` on) that only {@link view} reads: no buffer and no
   * copy. It is no backend buffer, so a kernel given it throws; it lives as long as x.
   */
  part(x: TI, offset: number, shape: number[]): TI;
}

/** The data id of a {@link HostBuffers.part}: its buffer and where in it the part starts. */
class HostPart {
  constructor(
    readonly base: TI,
    readonly offset: number,
  ) {}
}

/** Host buffers from a view of whole buffers, with parts read as subarrays of their buffer's view. */
function withParts(view: (x: TI) => Float32Array, alloc: (shape: number[]) => TI): HostBuffers {
  return {
    view: (x) => {
      const p = x.dataId;
      if (!(p instanceof HostPart)) return view(x);
      return view(p.base).subarray(p.offset, p.offset + tf.util.sizeFromShape(x.shape));
    },
    alloc,
    part: (x, offset, shape) => {
      const p = x.dataId;
      // A part of a part is a part of the same buffer.
      const [base, at] = p instanceof HostPart ? [p.base, p.offset + offset] : [x, offset];
      return { dataId: new HostPart(base, at), shape, dtype: 'float32' };
    },
  };
}

/** WebGPU's default `maxComputeWorkgroupsPerDimension` (the limit every adapter guarantees). */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/** Runs kernels of the active backend, tracking every buffer it makes until `free()`. */
export class KernelRunner {
  private readonly made: TI[] = [];
  private readonly scalars = new Map<number, TI>();

  private constructor(
    private readonly backend: Backend,
    private readonly kernels: Map<string, Kernel>,
  ) {}

  /** A runner on the active backend, or null where the backend lacks a kernel the runner needs. */
  /** Whether the active backend has the kernels a runner calls (what `create` checks, without making one). */
  static available(): boolean {
    return kernelsOf(tf.getBackend()) !== null;
  }

  static create(): KernelRunner | null {
    const kernels = kernelsOf(tf.getBackend());
    return kernels ? new KernelRunner(tf.engine().backend as unknown as Backend, kernels) : null;
  }

  private run(name: string, inputs: unknown, attrs: Record<string, unknown> = {}): TI {
    runnerCalls++;
    const out = this.kernels.get(name)!({ inputs, attrs, backend: this.backend }) as TI;
    this.made.push(out);
    return out;
  }

  /** A constant [shape] filled from `values` (float32). */
  constant(values: Float32Array, shape: number[]): TI {
    const info = { dataId: this.backend.write(values, shape, 'float32'), shape, dtype: 'float32' as const } as TI;
    this.made.push(info);
    return info;
  }

  private value(x: TI | number): TI {
    if (typeof x !== 'number') return x;
    let s = this.scalars.get(x);
    if (!s) {
      s = this.constant(new Float32Array([x]), []);
      this.scalars.set(x, s);
    }
    return s;
  }

  add(a: TI | number, b: TI | number): TI {
    return this.run('Add', { a: this.value(a), b: this.value(b) });
  }
  sub(a: TI | number, b: TI | number): TI {
    return this.run('Sub', { a: this.value(a), b: this.value(b) });
  }
  mul(a: TI | number, b: TI | number): TI {
    return this.run('Multiply', { a: this.value(a), b: this.value(b) });
  }
  minimum(a: TI, b: TI | number): TI {
    return this.run('Minimum', { a, b: this.value(b) });
  }
  square(x: TI): TI {
    return this.run('Square', { x });
  }
  sigmoid(x: TI): TI {
    return this.run('Sigmoid', { x });
  }
  tanh(x: TI): TI {
    return this.run('Tanh', { x });
  }
  softplus(x: TI): TI {
    return this.run('Softplus', { x });
  }
  elu(x: TI): TI {
    return this.run('Elu', { x });
  }
  exp(x: TI): TI {
    return this.run('Exp', { x });
  }
  /** 1 where x > 0, else 0. */
  step(x: TI): TI {
    return this.run('Step', { x }, { alpha: 0 });
  }
  /** Σ over `axis` (one axis, or all when omitted). */
  sum(x: TI, axis?: number): TI {
    const axes = axis === undefined ? x.shape.map((_, i) => i) : [axis < 0 ? x.shape.length + axis : axis];
    return this.run('Sum', { x }, { axis: axes, keepDims: false });
  }
  /**
   * One fused program for an elementwise WGSL expression over inputs that broadcast to `shape`
   * (`v0`, `v1`, … in `expr`; see webgpu-elementwise.ts), or null on backends that run no WGSL: the caller then
   * composes the expression from the runner's kernels.
   */
  elementwise(expr: string, inputs: TI[], shape = inputs[0]!.shape): TI | null {
    return this.runsPrograms() ? this.program(new ElementwiseProgram(shape, expr, inputs.length), inputs) : null;
  }

  /** Whether the backend runs WGSL programs (WebGPU): {@link program} is then available. */
  runsPrograms(): boolean {
    return typeof (this.backend as unknown as { runWebGPUProgram?: unknown }).runWebGPUProgram === 'function';
  }

  /**
   * One dispatch of a tfjs-backend-webgpu `WebGPUProgram` (float32 output) with the values of its
   * own uniforms (`program.uniforms`, in order), or null on backends that run no WGSL.
   */
  program(program: object, inputs: TI[], uniforms?: { type: string; data: number[] }[]): TI | null {
    const b = this.backend as unknown as { runWebGPUProgram?(program: unknown, inputs: TI[], dtype: 'float32', uniforms?: unknown): TI };
    if (!b.runWebGPUProgram) return null;
    // A dispatch wider than WebGPU's guaranteed limit per dimension would fail on the device:
    // null, so the caller takes its kernel path instead.
    const d = (program as { dispatch?: number[] }).dispatch;
    if (d && d.some((v) => v > MAX_WORKGROUPS_PER_DIMENSION)) return null;
    runnerCalls++;
    const out = b.runWebGPUProgram(program, inputs, 'float32', uniforms);
    this.made.push(out);
    return out;
  }

  /**
   * x's consecutive parts (in x's flat order) as buffers of the given shapes: on WebGPU by buffer
   * copies, no dispatch (webgpu-elementwise.ts's `copyParts`: one packed program output read out as
   * several tensors), elsewhere by a slice each.
   */
  parts(x: TI, shapes: readonly number[][]): TI[] {
    const copies = this.runsPrograms() ? (copyParts(this.backend, x, shapes) as TI[] | null) : null;
    if (copies) {
      this.made.push(...copies);
      return copies;
    }
    const flat = this.reshape(x, [tf.util.sizeFromShape(x.shape)]);
    let offset = 0;
    return shapes.map((shape) => {
      const size = tf.util.sizeFromShape(shape);
      const part = this.reshape(this.slice(flat, [offset], [size]), shape);
      offset += size;
      return part;
    });
  }

  /** The transpose of a matrix, or x's axes permuted by `perm`. */
  transpose(x: TI, perm: number[] = [1, 0]): TI {
    return this.run('Transpose', { x }, { perm });
  }
  concat(xs: TI[], axis: number): TI {
    return this.run('Concat', xs, { axis });
  }
  slice(x: TI, begin: number[], size: number[]): TI {
    return this.run('Slice', { x }, { begin, size });
  }
  /**
   * x seen with another shape: a view on the same buffer, no kernel and no new reference (it lives
   * as long as x; `keep` takes a reference of its own).
   */
  reshape(x: TI, shape: number[]): TI {
    const size = tf.util.sizeFromShape(x.shape);
    const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    return { dataId: x.dataId, shape: shape.map((d) => (d === -1 ? size / known : d)), dtype: x.dtype };
  }
  tile(x: TI, reps: number[]): TI {
    return this.run('Tile', { x }, { reps });
  }
  zeros(shape: number[]): TI {
    return this.constant(new Float32Array(tf.util.sizeFromShape(shape)), shape);
  }
  /** The n×n identity. */
  eye(n: number): TI {
    const v = new Float32Array(n * n);
    for (let i = 0; i < n; i++) v[i * n + i] = 1;
    return this.constant(v, [n, n]);
  }
  /** a·b for matrices, plus a bias row vector when given (one fused kernel), then relu when asked (in the same kernel). */
  matMul(a: TI, b: TI, bias?: TI, activation: 'linear' | 'relu' = 'linear'): TI {
    const [m, k] = a.shape as [number, number];
    const n = b.shape[1]!;
    const a3 = this.reshape(a, [1, m, k]);
    const b3 = this.reshape(b, [1, k, n]);
    const out = bias
      ? this.run('_FusedMatMul', { a: a3, b: b3, bias }, { transposeA: false, transposeB: false, activation })
      : this.run('BatchMatMul', { a: a3, b: b3 }, { transposeA: false, transposeB: false });
    return this.reshape(out, [m, n]);
  }

  /** Takes x off the runner's list if it made x (true); otherwise x is not the runner's to free. */
  private take(x: TI): boolean {
    const i = this.made.lastIndexOf(x);
    if (i < 0) return false;
    this.made.splice(i, 1);
    return true;
  }

  /**
   * Hands x over as a kernel's output (the engine makes it a tensor): the runner no longer frees
   * it — a view of a buffer it made hands over that buffer — and a buffer it did not make (an
   * input, or a view of one) gets a reference of its own.
   */
  output(x: TI): TI {
    if (!this.take(x)) {
      const i = this.made.findIndex((m) => m.dataId === x.dataId);
      if (i >= 0) this.made.splice(i, 1);
      else this.backend.incRef(x.dataId);
    }
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }

  /** Hands x to the engine as a tensor (in the current scope); the runner no longer frees it. */
  keep(x: TI): tf.Tensor {
    return (tf.engine() as unknown as { makeTensorFromTensorInfo(t: TI): tf.Tensor }).makeTensorFromTensorInfo(this.output(x));
  }

  /**
   * Float32 buffers the host can read and write in place (tfjs-wasm keeps them in its heap), for
   * arithmetic on tensors so small that a kernel call costs more than a JS loop; null on backends
   * whose buffers live elsewhere (WebGPU). Allocate every output before taking views: an
   * allocation may grow the heap, which detaches older views.
   */
  host(): HostBuffers | null {
    if (this.hostBuffers === undefined) this.hostBuffers = this.makeHost();
    return this.hostBuffers;
  }

  private hostBuffers: HostBuffers | null | undefined;

  /**
   * {@link host}, and on the cpu backend too (its buffers are JS typed arrays): for ops whose
   * only form is host arithmetic between kernels (the fused couplings).
   */
  hostOrCpu(): HostBuffers | null {
    const b = this.backend as unknown as { data?: { get(id: unknown): { values?: unknown } | undefined } };
    if (tf.getBackend() !== 'cpu' || !b.data) return this.host();
    return withParts(
      (x) => b.data!.get(x.dataId)!.values as Float32Array,
      (shape) => this.constant(new Float32Array(tf.util.sizeFromShape(shape)), shape),
    );
  }

  private makeHost(): HostBuffers | null {
    const b = this.backend as unknown as { typedArrayFromHeap?(x: TI): Float32Array; makeOutput?(shape: number[], dtype: 'float32'): TI };
    if (tf.getBackend() !== 'wasm' || !b.typedArrayFromHeap || !b.makeOutput) return null;
    return withParts(
      (x) => b.typedArrayFromHeap!(x),
      (shape) => {
        const info = b.makeOutput!(shape, 'float32');
        this.made.push(info);
        return info;
      },
    );
  }

  /** Frees every buffer the runner made and did not hand over. */
  free(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
    this.scalars.clear();
  }
}
