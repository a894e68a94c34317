/**
 * A few lines of WebAssembly binary encoding for wasm-simd.ts's module: LEB128 numbers, sections,
 * function bodies, and the opcodes it uses (core, SIMD128) with helpers for its loops. Locals are
 * numbered as in the binary format (parameters first); the helpers below write a local's index as
 * one byte, so they take locals below 128 only (the generated jets, which have hundreds of v128
 * locals, write theirs in LEB128: nn/simd-arith.ts).
 */
/** Unsigned LEB128 (sizes, indices, counts, SIMD opcodes). */
export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
/** Signed LEB128 (i32.const's immediate). */
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
/** A vector: its length, then its items. */
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
/** A section: its id, its size, its body. */
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
/** A name (ASCII). */
export const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
/** A function body: its size, its locals (groups of [count, type]), its code, `end`. */
export const func = (locals: number[][], code: number[]): number[] => {
  const body = [...vec(locals.map(([count, type]) => [...uleb(count!), type!])), ...code, END];
  return [...uleb(body.length), ...body];
};

// Opcodes (WebAssembly core and SIMD128) and value types.
export const [GET, SET, I32_ADD, I32_SUB, I32_MUL, I32_LT_U, SELECT, I32_CONST, LOOP, BR_IF, END] = [0x20, 0x21, 0x6a, 0x6b, 0x6c, 0x49, 0x1b, 0x41, 0x03, 0x0d, 0x0b];
/** i32.const v. */
export const int = (v: number): number[] => [I32_CONST, ...sleb(v)];
export const [I32, F32, V128] = [0x7f, 0x7d, 0x7b];
/** A SIMD128 instruction: the 0xfd prefix, its opcode, its immediates. */
export const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
/** v128.load at an address (code that leaves one) + offset. */
export const loadAt = (addr: number[], offset = 0): number[] => [...addr, ...simd(0x00, 2, ...uleb(offset))];
/** v128.store of v (code that leaves a v128) at an address (code) + offset. */
export const storeAt = (addr: number[], offset: number, v: number[]): number[] => [...addr, ...v, ...simd(0x0b, 2, ...uleb(offset))];
export const load = (addr: number, offset = 0): number[] => loadAt([GET, addr], offset);
export const splatLoad = (addr: number, offset: number): number[] => [GET, addr, ...simd(0x09, 2, ...uleb(offset))]; // v128.load32_splat
export const store = (addr: number, offset: number, v: number[]): number[] => storeAt([GET, addr], offset, v);
export const [ADD, MUL, DIV, SQRT, SPLAT] = [228, 230, 231, 227, 19].map((op) => simd(op)) as [number[], number[], number[], number[], number[]];
// More SIMD128 opcodes (for `simd`).
export const [F32X4_LT, F32X4_GT, V128_AND, V128_ANDNOT, V128_BITSELECT, I32X4_SHL, F32X4_NEG, F32X4_SUB, F32X4_MIN, F32X4_MAX, F32X4_PMIN, F32X4_PMAX] = [0x43, 0x44, 0x4e, 0x4f, 0x52, 0xab, 0xe1, 0xe5, 0xe8, 0xe9, 0xea, 0xeb];
/** v128.const of four float32 lanes c (little-endian bytes). */
export const splatConst = (c: number): number[] => simd(0x0c, ...new Uint8Array(new Float32Array([c, c, c, c]).buffer));
/** v128.const 0. */
export const ZERO_V128 = simd(0x0c, ...new Array<number>(16).fill(0));
/** local += step (two locals). */
export const addTo = (local: number, step: number): number[] => [GET, local, GET, step, I32_ADD, SET, local];
/** A do-while loop: `body`, then local `n` counts down by one; repeats while n ≠ 0. */
export const countdown = (n: number, body: number[]): number[] => [LOOP, 0x40, ...body, GET, n, I32_CONST, 1, I32_SUB, SET, n, GET, n, BR_IF, 0, END];
/** local = value (the value's code). */
export const set = (local: number, value: number[]): number[] => [...value, SET, local];
