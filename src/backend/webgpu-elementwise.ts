/**
 * One WebGPU program for a whole elementwise expression over same-shaped inputs: what would be a
 * dispatch per operation (a kernel call each: sigmoid, multiply, subtract, …) becomes one. It
 * follows tfjs-backend-webgpu's `WebGPUProgram` shape, which `runWebGPUProgram` compiles (once per
 * expression and shape) and dispatches; the inputs are bound as `X0`, `X1`, … and read as
 * `v0`, `v1`, … in the expression (WGSL, f32).
 */

/** The workgroup width of the flat dispatch. */
export const FLAT_WORKGROUP = 128;

/** A flat elementwise WGSL program computing `expr` from the inputs `v0 … v(n−1)`. */
export class ElementwiseProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [FLAT_WORKGROUP, 1, 1];
  readonly size = true;

  constructor(
    outputShape: number[],
    private readonly expr: string,
    arity: number,
  ) {
    this.outputShape = outputShape;
    this.variableNames = Array.from({ length: arity }, (_, i) => `X${i}`);
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(outputShape.reduce((p, d) => p * d, 1) / FLAT_WORKGROUP), 1, 1];
    this.shaderKey = `biflow_elementwise_${arity}_${expr}`;
  }

  getUserCode(): string {
    const reads = this.variableNames.map((name, i) => `let v${i} = get${name}ByOutputIndex(index);`).join('\n          ');
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${reads}
          setOutputAtIndex(index, ${this.expr});
        }
      }
    `;
  }
}

/**
 * A flat WGSL program of `threads` invocations (`fn main(index : i32)`, index < `uniforms.threads`),
 * each free to read its inputs and write the output anywhere: for bodies that gather across rows
 * (a read-out, a block sum, a reduction over partial sums) rather than map element to element.
 * Flat, so tfjs spreads a dispatch wider than the per-dimension limit over two or three dimensions.
 */
export class FlatProgram {
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [FLAT_WORKGROUP, 1, 1];
  readonly uniforms: string;

  constructor(
    readonly variableNames: string[],
    outputShape: number[],
    threads: number,
    private readonly body: string,
    uniforms = '',
    /** WGSL before `main` (helper functions the body calls). */
    private readonly prelude = '',
  ) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(threads / FLAT_WORKGROUP), 1, 1];
    this.uniforms = `threads : i32, ${uniforms}`;
    this.shaderKey = `biflow_flat_${variableNames.join(',')}_${uniforms}_${prelude}_${body}`;
  }

  getUserCode(): string {
    return `
      ${this.prelude}
      fn main(index : i32) {
        if (index < uniforms.threads) {
          ${this.body}
        }
      }
    `;
  }
}

/** The tfjs-backend-webgpu (4.x) internals {@link copyParts} uses, where present. */
interface WebGPUInternals {
  tensorMap: { get(dataId: unknown): { resource?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32'): { dataId: unknown; shape: number[]; dtype: 'float32' };
  uploadToGPU(dataId: unknown): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: { copyBufferToBuffer(src: unknown, srcOffset: number, dst: unknown, dstOffset: number, size: number): void } | null;
  commandQueueOwnedIds: { add(dataId: unknown): void };
}

/**
 * The consecutive parts of a packed program output as buffers of their own, of the given shapes,
 * by buffer-to-buffer copies recorded in the backend's command encoder: no dispatch (a program
 * writes one output, and tfjs's Slice is a dispatch per part). The copies run in queue order,
 * after the program that wrote `packed` and before any later one reads a part; the buffers are
 * marked as the queue's until it is submitted, so disposing one early is deferred as tfjs defers
 * its own. Null where the backend lacks these internals (then slice).
 */
export function copyParts(backend: unknown, packed: { dataId: unknown }, shapes: readonly number[][]): { dataId: unknown; shape: number[]; dtype: 'float32' }[] | null {
  const b = backend as Partial<WebGPUInternals>;
  if (!b.tensorMap || !b.makeTensorInfo || !b.uploadToGPU || !b.ensureCommandEncoderReady || !b.endComputePassEncoder || !b.commandQueueOwnedIds) return null;
  const src = b.tensorMap.get(packed.dataId)?.resource;
  if (!src) return null;
  let offset = 0;
  return shapes.map((shape) => {
    const part = b.makeTensorInfo!(shape, 'float32');
    b.uploadToGPU!(part.dataId);
    const bytes = 4 * shape.reduce((p, d) => p * d, 1);
    b.ensureCommandEncoderReady!();
    b.endComputePassEncoder!();
    b.commandEncoder!.copyBufferToBuffer(src, offset, b.tensorMap!.get(part.dataId)!.resource, 0, bytes);
    b.commandQueueOwnedIds!.add(packed.dataId);
    b.commandQueueOwnedIds!.add(part.dataId);
    offset += bytes;
    return part;
  });
}
