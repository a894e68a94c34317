/**
 * A small WebAssembly SIMD128 module that shares tfjs-wasm's memory, for the few loops over
 * tensors where tfjs-wasm's kernels cost more than the arithmetic: it reads and writes tensors
 * where they are on the heap (byte addresses from {@link heapAddress}). Its bytes are written here
 * with wasm-encode.ts (no build step, no binary in the repository); where it cannot run (no
 * SIMD128; the threaded build's shared memory, which does not link to a plain memory import;
 * another backend) {@link simdModule} is null and callers take their other path.
 *
 * Every float operation is an IEEE float32 operation, a product then a sum (SIMD128 has no FMA),
 * in the order the callers document, so results are those of float32 arithmetic in that order:
 * the sums of grad, tile1 and the outer products are those of XNNPACK's microkernels, the Adam
 * step that of tfjs's kernels.
 *
 *   tile1 (x, y, n, xStride, yStride, out, outStride), byte addresses and strides, n ≥ 1:
 *     out[0:16] = Σ_{k<n} x[k·xStride]·y[k·yStride + 0:16], the rows taken in order.
 *   adam (g, m, v, w, mOut, vOut, wOut, n; b1, b2, a1, a2, eps, c1, c2, lr, decay), n a multiple of 4:
 *     m′ = m·b1 + g·a1, v′ = v·b2 + (g·g)·a2, w′ = ((m′/c1) / (√(v′/c2) + eps)·lr + w)·decay.
 *   reluMask (g, h, out, n), n a multiple of 4 (≥ 4): out = g where h > 0, else +0 (relu's
 *     derivative from its output h applied to the cotangent g).
 *   mul (a, b, out, n), n a multiple of 4 (≥ 4): out = a·b.
 *   rowDot (a, w, out, n, k4, aStride, outStride; bias), n, k4 ≥ 1: for each of n rows of a,
 *     out = bias + Σ_{k<4·k4} a[k]·w[k] (four partial sums over k ≡ 0, 1, 2, 3 mod 4, then added).
 *   outerRelu (x, xStride, K, w, bias, out, n, jBlocks), outerLinear (the same) and outerMask (…, h instead of bias, …),
 *     K, n, jBlocks ≥ 1, w [K, 16·jBlocks] row-major, out and h [n, 16·jBlocks]: per row of x,
 *     u = bias + x[0]·w[0] + x[1]·w[1] + … (in that order, XNNPACK's), out = max(u, 0) (outerRelu),
 *     or u from 0 and out = u where h > 0, else +0 (outerMask: relu's σ′ from its output h), or
 *     out = u (outerLinear).
 *   grad (x, y, n, xStride, yStride, out, outStride, pairs, jBlocks, rs, ps), pairs, jBlocks, n ≥ 1:
 *     out[r][0:16·jBlocks] += Σ_{k<n} x[k·xStride + (r mod 2)·rs + ⌊r/2⌋·ps]·y[k·yStride + 0:16·jBlocks]
 *     for r < 2·pairs, the k taken in order, a chunk of 64 of them for every 2 × 16 tile of the
 *     result in turn. With rs = 4 and ps = 8 bytes, row r reads x's column r (Xᵀ·Y, a contraction
 *     over the rows of X and Y); with rs the bytes of x's row and ps twice that, x's row r (X·Y, a
 *     product: k runs over x's columns, xStride = 4).
 */
import { tf } from './engine.js';
import { ADD, BR_IF, DIV, END, F32, F32X4_GT, F32X4_MAX, GET, I32, I32_ADD, I32_CONST, I32_LT_U, I32_MUL, I32_SUB, LOOP, MUL, SELECT, SET, SPLAT, SQRT, V128, V128_AND, ZERO_V128, addTo, countdown, func, int, load, name, section, set, simd, splatLoad, store, uleb, vec } from './wasm-encode.js';

type T = tf.TensorInfo;

/**
 * Terms a chunk of `grad` runs over: in a contraction, rows of X and Y (2 × 64 rows of 64 floats
 * fill 32 KB, a core's L1 data cache); in a product, columns of x and rows of w.
 */
const CHUNK_ROWS = 64;

/**
 * `grad`: see the file's comment. Per chunk of rows, per pair of rows of the result, per 16
 * columns: the 2 × 16 partial sums from `out`, the chunk's rows added in order, back to `out`.
 */
function grad(): number[] {
  const [x, y, n, xs, ys, out, os, pairs, jblocks, rs, ps] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const acc = (r: number, c: number) => 11 + r * 4 + c;
  const yv = (c: number) => 19 + c;
  const sv = 23;
  const [left, cnt, xc, yc, ip, xi, oi, jb, yj, oj, oj1, k, xr, yr] = Array.from({ length: 14 }, (_, i) => 24 + i) as number[] as [number, number, number, number, number, number, number, number, number, number, number, number, number, number];
  const rows: number[] = [];
  for (let c = 0; c < 4; c++) rows.push(...load(yr, 16 * c), SET, yv(c));
  for (let r = 0; r < 2; r++) {
    rows.push(...(r === 0 ? splatLoad(xr, 0) : [GET, xr, GET, rs, I32_ADD, ...simd(0x09, 2, 0)]), SET, sv);
    for (let c = 0; c < 4; c++) rows.push(GET, acc(r, c), GET, sv, GET, yv(c), ...MUL, ...ADD, SET, acc(r, c));
  }
  rows.push(...addTo(xr, xs), ...addTo(yr, ys));
  const block: number[] = [...set(oj1, [GET, oj, GET, os, I32_ADD])];
  for (let c = 0; c < 4; c++) block.push(...load(oj, 16 * c), SET, acc(0, c), ...load(oj1, 16 * c), SET, acc(1, c));
  block.push(...set(k, [GET, cnt]), ...set(xr, [GET, xi]), ...set(yr, [GET, yj]), ...countdown(k, rows));
  for (let c = 0; c < 4; c++) block.push(...store(oj, 16 * c, [GET, acc(0, c)]), ...store(oj1, 16 * c, [GET, acc(1, c)]));
  block.push(...set(yj, [GET, yj, ...int(64), I32_ADD]), ...set(oj, [GET, oj, ...int(64), I32_ADD]));
  const pair = [...set(jb, [GET, jblocks]), ...set(yj, [GET, yc]), ...set(oj, [GET, oi]), ...countdown(jb, block), ...addTo(xi, ps), ...set(oi, [GET, oi, GET, os, I32_ADD, GET, os, I32_ADD])];
  const chunk = [
    ...set(cnt, [...int(CHUNK_ROWS), GET, left, ...int(CHUNK_ROWS), GET, left, I32_LT_U, SELECT]),
    ...set(ip, [GET, pairs]), ...set(xi, [GET, xc]), ...set(oi, [GET, out]), ...countdown(ip, pair),
    ...set(xc, [GET, xc, GET, cnt, GET, xs, I32_MUL, I32_ADD]), ...set(yc, [GET, yc, GET, cnt, GET, ys, I32_MUL, I32_ADD]),
    ...set(left, [GET, left, GET, cnt, I32_SUB]),
  ];
  // The chunk loop runs while rows are left (a do-while on `left`, which reaches 0 exactly).
  const code = [...set(left, [GET, n]), ...set(xc, [GET, x]), ...set(yc, [GET, y]), LOOP, 0x40, ...chunk, GET, left, BR_IF, 0, END];
  return func([[13, V128], [14, I32]], code);
}

/** `tile1`: see the file's comment. Accumulators start at zero (v128 locals do). */
function tile1(): number[] {
  const rows = 1;
  const [x, y, n, xs, ys, out, os] = [0, 1, 2, 3, 4, 5, 6];
  const acc = (r: number, c: number) => 7 + r * 4 + c;
  const yv = (c: number) => 7 + rows * 4 + c;
  const s = 7 + rows * 4 + 4;
  const body: number[] = [];
  for (let c = 0; c < 4; c++) body.push(...load(y, 16 * c), SET, yv(c));
  for (let r = 0; r < rows; r++) {
    body.push(...splatLoad(x, 4 * r), SET, s);
    for (let c = 0; c < 4; c++) body.push(GET, acc(r, c), GET, s, GET, yv(c), ...MUL, ...ADD, SET, acc(r, c));
  }
  body.push(...addTo(x, xs), ...addTo(y, ys));
  const code = countdown(n, body);
  for (let r = 0; r < rows; r++) {
    if (r > 0) code.push(...addTo(out, os));
    for (let c = 0; c < 4; c++) code.push(...store(out, 16 * c, [GET, acc(r, c)]));
  }
  return func([[rows * 4 + 5, V128]], code);
}

/** `adam`: see the file's comment; four elements a round. */
function adam(): number[] {
  const [g, m, v, w, mo, vo, wo, n] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [b1, b2, a1, a2, eps, c1, c2, lr, decay] = [8, 9, 10, 11, 12, 13, 14, 15, 16].map((p) => p + 9); // their splats
  const [gk, mk, vk, four] = [26, 27, 28, 29];
  const code: number[] = [];
  for (let p = 0; p < 9; p++) code.push(GET, 8 + p, ...SPLAT, SET, 17 + p);
  code.push(I32_CONST, 16, SET, four);
  const body = [
    ...load(g), SET, gk,
    ...load(m), GET, b1, ...MUL, GET, gk, GET, a1, ...MUL, ...ADD, SET, mk,
    ...load(v), GET, b2, ...MUL, GET, gk, GET, gk, ...MUL, GET, a2, ...MUL, ...ADD, SET, vk,
    ...store(mo, 0, [GET, mk]), ...store(vo, 0, [GET, vk]),
    ...store(wo, 0, [GET, mk, GET, c1, ...DIV, GET, vk, GET, c2, ...DIV, ...SQRT, GET, eps, ...ADD, ...DIV, GET, lr, ...MUL, ...load(w), ...ADD, GET, decay, ...MUL]),
    ...[g, m, v, w, mo, vo, wo].flatMap((p) => addTo(p, four)),
  ];
  // n counts elements; the loop counts rounds of four.
  return func([[12, V128], [1, I32]], [...code, GET, n, I32_CONST, 2, 0x76 /* i32.shr_u */, SET, n, ...countdown(n, body)]);
}

/** `reluMask` (`relu`) or `mul`: see the file's comment. */
function elementwise(relu: boolean): number[] {
  const [a, b, out, n, sixteen] = [0, 1, 2, 3, 4];
  const value = relu
    ? [...load(a), ...load(b), ...ZERO_V128, ...simd(F32X4_GT), ...simd(V128_AND)]
    : [...load(a), ...load(b), ...MUL];
  const body = [...store(out, 0, value), ...addTo(a, sixteen), ...addTo(b, sixteen), ...addTo(out, sixteen)];
  return func([[1, I32]], [I32_CONST, 16, SET, sixteen, GET, n, I32_CONST, 2, 0x76 /* i32.shr_u */, SET, n, ...countdown(n, body)]);
}

/** `outerRelu`, `outerMask` or `outerLinear`: see the file's comment. */
function outer(mode: 'relu' | 'mask' | 'linear'): number[] {
  const mask = mode === 'mask';
  const [x, xs, K, w, bh, out, n, jblocks] = [0, 1, 2, 3, 4, 5, 6, 7];
  const acc = (c: number) => 8 + c;
  const [sv, zero] = [12, 13];
  const [jb, kk, xp, wp, col, ws] = [14, 15, 16, 17, 18, 19];
  /** v128.load at base + col + 16c. */
  const at = (base: number, c: number) => [GET, base, GET, col, I32_ADD, ...simd(0x00, 2, ...uleb(16 * c))];
  const inner = [...set(sv, splatLoad(xp, 0))];
  for (let c = 0; c < 4; c++) inner.push(GET, acc(c), GET, sv, ...load(wp, 16 * c), ...MUL, ...ADD, SET, acc(c));
  inner.push(...set(xp, [GET, xp, ...int(4), I32_ADD]), ...addTo(wp, ws));
  const block: number[] = [];
  for (let c = 0; c < 4; c++) block.push(...set(acc(c), mask ? [GET, zero] : at(bh, c)));
  block.push(...set(kk, [GET, K]), ...set(xp, [GET, x]), ...set(wp, [GET, w, GET, col, I32_ADD]), ...countdown(kk, inner));
  for (let c = 0; c < 4; c++) {
    const value = mask
      ? [GET, acc(c), ...at(bh, c), GET, zero, ...simd(F32X4_GT), ...simd(V128_AND)]
      : mode === 'relu' ? [GET, acc(c), GET, zero, ...simd(F32X4_MAX)] : [GET, acc(c)];
    block.push(GET, out, GET, col, I32_ADD, ...value, ...simd(0x0b, 2, ...uleb(16 * c)));
  }
  block.push(...set(col, [GET, col, ...int(64), I32_ADD]));
  const row = [...set(jb, [GET, jblocks]), ...set(col, int(0)), ...countdown(jb, block), ...addTo(x, xs), ...addTo(out, ws)];
  if (mask) row.push(...addTo(bh, ws)); // h advances a row with out; a bias stays
  const code = [...set(zero, ZERO_V128), ...set(ws, [GET, jblocks, ...int(64), I32_MUL]), ...countdown(n, row)];
  return func([[6, V128], [6, I32]], code);
}

/** `rowDot`: see the file's comment. */
function rowDot(): number[] {
  const [a, w, out, n, k4, as, os, bias] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [acc, kk, ap, wp] = [8, 9, 10, 11];
  const inner = [GET, acc, ...load(ap), ...load(wp), ...MUL, ...ADD, SET, acc, ...set(ap, [GET, ap, ...int(16), I32_ADD]), ...set(wp, [GET, wp, ...int(16), I32_ADD])];
  const lane = (i: number) => [GET, acc, ...simd(31 /* f32x4.extract_lane */, i)];
  const F32_ADD = 0x92;
  const row = [
    ...set(acc, ZERO_V128), ...set(kk, [GET, k4]), ...set(ap, [GET, a]), ...set(wp, [GET, w]), ...countdown(kk, inner),
    GET, out, GET, bias, ...lane(0), F32_ADD, ...lane(1), F32_ADD, ...lane(2), F32_ADD, ...lane(3), F32_ADD, 0x38 /* f32.store */, 2, 0,
    ...addTo(out, os), ...addTo(a, as),
  ];
  return func([[1, V128], [3, I32]], countdown(n, row));
}

/** The module's bytes: memory imported as env.memory; its functions (see the file's comment) exported. */
function moduleBytes(): Uint8Array {
  const tileType = [0x60, ...vec(Array.from({ length: 7 }, () => [I32])), 0x00];
  const adamType = [0x60, ...vec([...Array.from({ length: 8 }, () => [I32]), ...Array.from({ length: 9 }, () => [F32])]), 0x00];
  const binaryType = [0x60, ...vec(Array.from({ length: 4 }, () => [I32])), 0x00];
  const gradType = [0x60, ...vec(Array.from({ length: 11 }, () => [I32])), 0x00];
  const rowDotType = [0x60, ...vec([...Array.from({ length: 7 }, () => [I32]), [F32]]), 0x00];
  const outerType = [0x60, ...vec(Array.from({ length: 8 }, () => [I32])), 0x00];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([tileType, adamType, binaryType, gradType, rowDotType, outerType])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0], [1], [2], [2], [3], [4], [5], [5], [5]])),
    ...section(7, vec(['tile1', 'adam', 'reluMask', 'mul', 'grad', 'rowDot', 'outerRelu', 'outerMask', 'outerLinear'].map((f, i) => [...name(f), 0x00, i]))),
    ...section(10, [...uleb(9), ...tile1(), ...adam(), ...elementwise(true), ...elementwise(false), ...grad(), ...rowDot(), ...outer('relu'), ...outer('mask'), ...outer('linear')]),
  ]);
}

type Tile = (x: number, y: number, n: number, xs: number, ys: number, out: number, os: number) => void;

/** The module's functions (see the file's comment). */
export interface SimdModule {
  tile1: Tile;
  /** The byte addresses of g, m, v, w, m′, v′, w′, then n, then b1, b2, a1, a2, eps, c1, c2, lr, decay. */
  adam(...args: number[]): void;
  reluMask(g: number, h: number, out: number, n: number): void;
  mul(a: number, b: number, out: number, n: number): void;
  grad(x: number, y: number, n: number, xs: number, ys: number, out: number, os: number, pairs: number, jblocks: number, rs: number, ps: number): void;
  rowDot(a: number, w: number, out: number, n: number, k4: number, as: number, os: number, bias: number): void;
  outerRelu(x: number, xs: number, K: number, w: number, bias: number, out: number, n: number, jblocks: number): void;
  outerMask(x: number, xs: number, K: number, w: number, h: number, out: number, n: number, jblocks: number): void;
  outerLinear(x: number, xs: number, K: number, w: number, bias: number, out: number, n: number, jblocks: number): void;
}

/** The part of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const instances = new WeakMap<object, Map<string, unknown>>();

/**
 * A module whose bytes `make` writes (once per backend and `key`), instantiated on the active
 * backend's memory (tfjs-wasm's heap, imported as env.memory), its exports; null where it does not
 * run (see the file's comment) or `make` has no bytes to give.
 */
export function heapModule<M>(key: string, make: () => Uint8Array | null): M | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.engine().backend;
  let modules = instances.get(backend);
  if (!modules) instances.set(backend, (modules = new Map()));
  if (modules.has(key)) return modules.get(key) as M | null;
  let k: M | null = null;
  // Outside the try: a fault in writing the bytes is a bug to see, not a reason to fall back.
  const bytes = make();
  try {
    const memory = (backend as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
    if (bytes && wasmApi && memory instanceof wasmApi.Memory && wasmApi.validate(bytes)) {
      k = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports as unknown as M;
    }
  } catch {
    k = null; // a memory the module cannot import (shared): the callers' other path runs
  }
  modules.set(key, k);
  return k;
}

/** The module on the active backend's memory (tfjs-wasm), or null where it does not run (see the file's comment). */
export function simdModule(): SimdModule | null {
  return heapModule<SimdModule>('simd', moduleBytes);
}

/** Byte address of a tensor's buffer on tfjs-wasm's heap (call only where {@link simdModule} is not null). */
export function heapAddress(x: T): number {
  return (tf.engine().backend as unknown as { dataIdMap: { get(id: unknown): { memoryOffset: number } } }).dataIdMap.get(x.dataId).memoryOffset;
}
