/**
 * Xᵀ·Y [P, Q] for row-major X [N, P] and Y [N, Q] on tfjs-wasm's heap, by a small WebAssembly
 * SIMD128 module that shares tfjs-wasm's memory: the weight gradient of a dense layer (X the
 * layer's input, Y the cotangent of its pre-activation), a contraction over the batch rows.
 *
 * Why not tfjs-wasm's product: XNNPACK packs the right operand of every product anew when the
 * tensor is new (≈ 0.35 ms for [1024, 64], as long as the product itself) and the left one has
 * to be transposed first (≈ 0.08 ms); here both are read in place. The module accumulates tiles
 * of 2 rows × 16 columns of the result in eight SIMD registers over all N rows, each a product
 * then a sum in float32, in row order (as XNNPACK's microkernels do over their K loop).
 *
 * Where the module cannot run (no SIMD, no exported memory — the threaded build imports a shared
 * one —, another backend), {@link simdGrad} returns null and callers take the product path.
 */
import { tf } from '../backend/engine.js';
import type { HostBuffers } from '../backend/kernels.js';

type T = tf.TensorInfo;

/** The columns one call of the module accumulates (four SIMD lanes of four). */
const TILE_COLS = 16;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

// Opcodes (WebAssembly core and SIMD128).
const [GET, SET, I32_ADD, I32_SUB, I32_CONST, LOOP, BR_IF, END, V128] = [0x20, 0x21, 0x6a, 0x6b, 0x41, 0x03, 0x0d, 0x0b, 0x7b];
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
const load = (addr: number, offset: number): number[] => [GET, addr, ...simd(0x00, 2, ...uleb(offset))]; // v128.load
const splat = (addr: number, offset: number): number[] => [GET, addr, ...simd(0x09, 2, ...uleb(offset))]; // v128.load32_splat
const store = (addr: number, offset: number, v: number): number[] => [GET, addr, GET, v, ...simd(0x0b, 2, ...uleb(offset))];
const [F32X4_ADD, F32X4_MUL] = [228, 230];

/**
 * The body of `tile<rows>(x, y, n, xStride, yStride, out, outStride)` (byte addresses and strides):
 * out[r][0:16] = Σ_k x[k·xStride + 4r]·y[k·yStride + 0:16] for r < rows, k < n (n ≥ 1).
 */
function tileBody(rows: number): number[] {
  const [x, y, n, xs, ys, out, os] = [0, 1, 2, 3, 4, 5, 6];
  const acc = (r: number, c: number) => 7 + r * 4 + c; // accumulators, zero to begin with (v128 locals start at 0)
  const yv = (c: number) => 7 + rows * 4 + c;
  const s = 7 + rows * 4 + 4;
  const code: number[] = [LOOP, 0x40];
  for (let c = 0; c < 4; c++) code.push(...load(y, 16 * c), SET, yv(c));
  for (let r = 0; r < rows; r++) {
    code.push(...splat(x, 4 * r), SET, s);
    for (let c = 0; c < 4; c++) code.push(GET, acc(r, c), GET, s, GET, yv(c), ...simd(F32X4_MUL), ...simd(F32X4_ADD), SET, acc(r, c));
  }
  code.push(GET, x, GET, xs, I32_ADD, SET, x, GET, y, GET, ys, I32_ADD, SET, y);
  code.push(GET, n, I32_CONST, 1, I32_SUB, SET, n, GET, n, BR_IF, 0, END);
  for (let r = 0; r < rows; r++) {
    if (r > 0) code.push(GET, out, GET, os, I32_ADD, SET, out);
    for (let c = 0; c < 4; c++) code.push(...store(out, 16 * c, acc(r, c)));
  }
  const locals = vec([[...uleb(rows * 4 + 5), V128]]);
  const body = [...locals, ...code, END];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: memory imported as env.memory, `tile2` and `tile1` exported. */
function moduleBytes(): Uint8Array {
  const I32 = 0x7f;
  const type = [0x60, ...vec(Array.from({ length: 7 }, () => [I32])), 0x00];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0], [0]])),
    ...section(7, vec([[...name('tile2'), 0x00, 0], [...name('tile1'), 0x00, 1]])),
    ...section(10, [...uleb(2), ...tileBody(2), ...tileBody(1)]),
  ]);
}

type Tile = (x: number, y: number, n: number, xs: number, ys: number, out: number, os: number) => void;
interface Kernel {
  tile2: Tile;
  tile1: Tile;
}

/** The part of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const instances = new WeakMap<object, Kernel | null>();

/** The module instantiated on the active tfjs-wasm backend's memory, or null where it cannot be. */
function kernelFor(backend: object): Kernel | null {
  if (instances.has(backend)) return instances.get(backend)!;
  let k: Kernel | null = null;
  try {
    const memory = (backend as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
    const bytes = moduleBytes();
    // A shared memory (the threaded build) does not link to the module's plain import: caught below.
    if (wasmApi && memory instanceof wasmApi.Memory && wasmApi.validate(bytes)) {
      const { exports } = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
      k = { tile2: exports.tile2 as Tile, tile1: exports.tile1 as Tile };
    }
  } catch {
    k = null; // no SIMD128, or a memory the module cannot import: the product path runs
  }
  instances.set(backend, k);
  return k;
}

/** Byte address of a tensor's buffer on tfjs-wasm's heap. */
const addressOf = (backend: { dataIdMap: { get(id: unknown): { memoryOffset: number } } }, x: T): number => backend.dataIdMap.get(x.dataId).memoryOffset;

/**
 * Xᵀ·Y [P, Q] for X [N, P], Y [N, Q] (Q a multiple of 16, N ≥ 1) as a new buffer, or null where
 * the SIMD module does not run (see the file's comment) or Q does not fit its tiles.
 */
export function simdGrad(host: HostBuffers, x: T, y: T): T | null {
  const [N, P] = x.shape as [number, number];
  const Q = y.shape[1]!;
  if (tf.getBackend() !== 'wasm' || Q % TILE_COLS !== 0 || N < 1) return null;
  const backend = tf.engine().backend as unknown as Parameters<typeof addressOf>[0];
  const k = kernelFor(backend);
  if (!k) return null;
  const out = host.alloc([P, Q]);
  const [xa, ya, oa] = [addressOf(backend, x), addressOf(backend, y), addressOf(backend, out)];
  for (let i = 0; i < P; i += 2) {
    const tile = i + 1 < P ? k.tile2 : k.tile1;
    for (let j = 0; j < Q; j += TILE_COLS) tile(xa + 4 * i, ya + 4 * j, N, 4 * P, 4 * Q, oa + 4 * (i * Q + j), 4 * Q);
  }
  return out;
}

/** Whether {@link simdGrad} runs on the active backend (the module instantiates on it). */
export function simdGradAvailable(): boolean {
  return tf.getBackend() === 'wasm' && kernelFor(tf.engine().backend) !== null;
}
