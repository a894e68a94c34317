/**
 * How many bytes of tensors the current backend can hold — a simple, honest bound checked before
 * a large allocation, so that a request that cannot fit fails at once with a typed error that
 * says the size and how to split it, instead of `memory access out of bounds` or minutes of swap.
 *
 * - wasm: the module's heap, which every live tensor shares: at most 4 294 901 760 bytes
 *   (2³² − 64 KiB, wasm32 addressing; the maximum tfjs-backend-wasm 4.22 is built with).
 * - webgpu: half the machine's memory in total, and the device's `maxBufferSize` per tensor.
 * - cpu, tfjs-node, tfjs-node-gpu: half the machine's memory (`os.totalmem()`); 2 GiB in a
 *   browser, which does not say how much it has.
 *
 * The bound is on tensors alive at once (`tf.memory().numBytes` plus the request), so it also
 * counts what the caller already holds.
 */
import { tf } from './engine.js';
import { InvalidArgumentError } from '../errors.js';

/** The wasm heap's maximum size in bytes (tfjs-backend-wasm 4.22: `getHeapMax()`). */
export const WASM_HEAP_BYTES = 4_294_901_760;
/** The bound where the platform does not report its memory (a browser's cpu backend). */
const UNKNOWN_MACHINE_BYTES = 2 ** 31;

/** Half the machine's memory in Node (read without a static `node:os` import, so browsers load this file). */
function machineBytes(): number {
  const os = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:os') as { totalmem(): number } | undefined;
  return os ? os.totalmem() / 2 : UNKNOWN_MACHINE_BYTES;
}

/** The current backend's bound: total bytes of live tensors, and the most one tensor may hold. */
export function memoryLimit(): { backend: string; totalBytes: number; tensorBytes: number } {
  const backend = tf.getBackend();
  if (backend === 'wasm') return { backend, totalBytes: WASM_HEAP_BYTES, tensorBytes: WASM_HEAP_BYTES };
  const total = machineBytes();
  if (backend === 'webgpu') {
    const maxBuffer = (tf.backend() as { device?: { limits?: { maxBufferSize?: number } } }).device?.limits?.maxBufferSize;
    return { backend, totalBytes: total, tensorBytes: Math.min(total, maxBuffer ?? total) };
  }
  return { backend, totalBytes: total, tensorBytes: total };
}

/**
 * Checks that a net's parameters fit: `layers` gives each layer's [fanIn, fanOut] and how many
 * numbers per output unit it adds to fanIn·fanOut (biases, time weights).
 */
export function checkParameters(fn: string, hidden: readonly number[], layers: readonly (readonly [number, number])[], extraPerUnit: number): void {
  const params = layers.reduce((n, [i, o]) => n + (i + extraPerUnit) * o, 0);
  const largest = Math.max(...layers.map(([i, o]) => i * o));
  checkFits(fn, 'hidden', hidden, { bytes: 4 * params, largest: 4 * largest, what: `${params.toExponential(2)} parameters as float32`, fix: 'Use smaller hidden sizes (training needs about 4× this: weights, gradients and two Adam moments).' });
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

/**
 * Throws InvalidArgumentError(fn, arg, value, …) when a request needing `bytes` in all (the
 * largest single tensor `largest`) cannot fit next to the tensors already alive. `what` says what
 * the bytes are ("2e9 parameters"); `fix` how to make the request smaller.
 */
export function checkFits(fn: string, arg: string, value: unknown, { bytes, largest = bytes, what, fix }: { bytes: number; largest?: number; what: string; fix: string }): void {
  const limit = memoryLimit();
  const inUse = tf.memory().numBytes;
  if (largest > limit.tensorBytes) {
    throw new InvalidArgumentError(fn, arg, value, `needs a tensor of ${gib(largest)} (${what}), more than the ${limit.backend} backend holds in one tensor (${gib(limit.tensorBytes)}); got {value}. ${fix}`);
  }
  if (inUse + bytes > limit.totalBytes) {
    throw new InvalidArgumentError(fn, arg, value, `needs ${gib(bytes)} of tensors (${what}) but the ${limit.backend} backend holds at most ${gib(limit.totalBytes)}, ${gib(inUse)} of it in use; got {value}. ${fix}`);
  }
}

/** Bytes of float32 weights with these shapes (a weights manifest's specs): what their .bin must hold. */
export function float32Bytes(specs: readonly { shape: readonly number[] }[]): number {
  return specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
}
