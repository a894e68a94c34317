/**
 * The activations' jets on tfjs-wasm as SIMD128 code generated from their one definition
 * (activation-defs.ts): an `Arith` whose values are v128 locals ({@link SimdCode}) writes each
 * definition's expressions as WebAssembly, four floats a round, into a module that shares
 * tfjs-wasm's heap (backend/wasm-simd.ts), so that a layer's jet (h = σ(a), σ′, and the tangents
 * u = ȧ ⊙ σ′) is one pass over its buffers where the backend's kernels took seven, and its reverse
 * one pass where they took six (a buffer written and read back between every two).
 *
 * The arithmetic is the definitions' in float32, operation by operation, so where σ″ is products
 * and sums of h and σ′ (tanh, sigmoid, elu) `back` gives the kernels' results bit for bit; `exp`,
 * which the kernels take from XNNPACK, is written here (range reduction by n·ln 2 in two parts,
 * Cody and Waite's, then a degree-7 Taylor polynomial on |r| ≤ ln 2 / 2, then the power of two
 * by its exponent bits): within a few float32 ulps of the exact exponential, not bit for bit
 * XNNPACK's (the tests hold every jet to 1e-6 of its float64 definition). An activation whose
 * definition uses an operation not written here (softplus's logarithm) has no SIMD jet; its
 * callers take the kernels.
 */
import { tf } from '../backend/engine.js';
import type { HostBuffers } from '../backend/kernels.js';
import { onHeap } from '../backend/simd-contract.js';
import { ADD, DIV, GET, I32, I32_ADD, MUL, SET, V128, addTo, countdown, func, int, name, section, set, simd, uleb, vec } from '../backend/wasm-encode.js';
import { heapAddress, heapModule } from '../backend/wasm-simd.js';
import { ACTIVATION_DEFS, activationBack } from './activation-defs.js';
import type { ActivationDef, Arith } from './activation-defs.js';
import type { ActivationName } from './activations.js';

type T = tf.TensorInfo;

// SIMD128 opcodes past wasm-encode's.
const [F32X4_GT, V128_AND, V128_BITSELECT, I32X4_SHL, F32X4_NEG, F32X4_SUB, F32X4_MIN, F32X4_PMIN, F32X4_PMAX] = [0x44, 0x4e, 0x52, 0xab, 0xe1, 0xe5, 0xe8, 0xea, 0xeb];
const V128_CONST = 0x0c;

/** A value of the generated code: the v128 local that holds it (its index is LEB128-encoded: there are hundreds). */
class Value {
  constructor(readonly local: number) {}
}

/** Raised by an operation the generated code does not have (the activation then has no SIMD jet). */
class Unsupported extends Error {}

/** v128.const of four float32 lanes c (little-endian bytes). */
function splat(c: number): number[] {
  return simd(V128_CONST, ...new Uint8Array(new Float32Array([c, c, c, c]).buffer));
}

/**
 * An {@link Arith} whose values are v128 locals: each operation appends its code (operands read
 * from their locals, the result set into a new one), so a value read twice is computed once.
 * Constants are v128 constants, each made once in the prologue.
 */
class SimdCode implements Arith<Value> {
  readonly code: number[] = [];
  readonly prologue: number[] = [];
  private readonly constants = new Map<number, Value>();

  constructor(private next: number) {}

  /** The first local past the values. */
  get end(): number {
    return this.next;
  }

  /** The code written since the last call, taken out. */
  take(): number[] {
    return this.code.splice(0);
  }

  /** A new local set from `value` (code that leaves one v128). */
  fresh(value: number[]): Value {
    const v = new Value(this.next++);
    this.code.push(...value, SET, ...uleb(v.local));
    return v;
  }

  /** The float32 constant c, made once in the prologue. */
  private constant(c: number): Value {
    let v = this.constants.get(c);
    if (!v) {
      v = new Value(this.next++);
      this.prologue.push(...splat(c), SET, ...uleb(v.local));
      this.constants.set(c, v);
    }
    return v;
  }

  /** Code that reads x. */
  get(x: Value | number): number[] {
    return [GET, ...uleb((typeof x === 'number' ? this.constant(x) : x).local)];
  }

  private binary(a: Value | number, b: Value | number, op: number[]): Value {
    return this.fresh([...this.get(a), ...this.get(b), ...op]);
  }

  add = (a: Value | number, b: Value | number): Value => this.binary(a, b, ADD);
  sub = (a: Value | number, b: Value | number): Value => this.binary(a, b, simd(F32X4_SUB));
  mul = (a: Value | number, b: Value | number): Value => this.binary(a, b, MUL);
  // f32x4.min is NaN-propagating, as the kernels' Minimum.
  minimum = (a: Value, b: Value | number): Value => this.binary(a, b, simd(F32X4_MIN));

  /**
   * eˣ: x clamped to [−87.3, 88.3] (so that 2ⁿ below stays a normal float; NaN stays NaN: the
   * pseudo-minimum and -maximum return their first operand unless the bound is past it),
   * n = round(x·log₂e) by adding and subtracting 1.5·2²³ + 127 (which leaves n + 127 in the low
   * bits of the sum, so that shifting them into the exponent field makes 2ⁿ: no float-to-int
   * conversion, which SIMD128 on x64 spends many instructions on), r = x − n·C₁ − n·C₂ (C₁ + C₂ =
   * ln 2, n·C₁ exact), e^r by its Taylor polynomial of degree 7 (truncation below 6·10⁻⁹ relative
   * on |r| ≤ ln 2 / 2), times 2ⁿ.
   */
  exp = (x: Value): Value => {
    const c = this.binary(this.binary(x, -87.3, simd(F32X4_PMAX)), 88.3, simd(F32X4_PMIN));
    const magic = 1.5 * 2 ** 23 + 127;
    const biased = this.add(this.mul(c, Math.LOG2E), magic);
    const n = this.sub(biased, magic);
    const r = this.sub(this.sub(c, this.mul(n, 0.693359375)), this.mul(n, -2.12194440e-4));
    let p: Value | number = 1 / 5040;
    for (const k of [720, 120, 24, 6, 2, 1, 1]) p = this.add(this.mul(p, r), 1 / k);
    const two = this.fresh([...this.get(biased), ...int(23), ...simd(I32X4_SHL)]);
    return this.mul(p, two);
  };

  sigmoid = (a: Value): Value => {
    const e = this.exp(this.fresh([...this.get(a), ...simd(F32X4_NEG)]));
    return this.fresh([...this.get(1), ...this.get(this.add(e, 1)), ...DIV]);
  };

  /** 1 where a > 0, else 0 (the comparison's all-ones lanes and 1.0's bits). */
  step = (a: Value): Value => this.fresh([...this.get(a), ...this.get(0), ...simd(F32X4_GT), ...this.get(1), ...simd(V128_AND)]);

  /** a where a > 0, else eᵃ − 1. */
  elu = (a: Value): Value => {
    const em1 = this.sub(this.exp(a), 1);
    return this.fresh([...this.get(a), ...this.get(em1), ...this.get(a), ...this.get(0), ...simd(F32X4_GT), ...simd(V128_BITSELECT)]);
  };

  softplus = (): Value => {
    throw new Unsupported('softplus');
  };
}

/**
 * The module of one activation's jet for K tangent blocks (1: Hutchinson's probe; D: the exact
 * trace's unit vectors), its functions over n4 rounds of four floats of [B, n] buffers (byte
 * addresses; `block` the bytes between two tangent blocks, B·n·4):
 *   forward (a, ȧ, h, σ′, u, n4, block): h = σ(a), σ′(a), u_k = ȧ_k ⊙ σ′ for k < K;
 *   back (h̄, ū, ȧ, h, σ′, a, ā, ǡ, n4, block): σ̄′ = Σ_k ū_k ⊙ ȧ_k (in order of k), ǡ_k = ū_k ⊙ σ′,
 *     ā = h̄·σ′ + σ̄′·σ″ as the definition writes it (`activationBack`); a read only where it `needsInput`.
 * Null where the definition uses an operation the generated code does not have.
 */
function jetBytes(def: ActivationDef, K: number): Uint8Array | null {
  try {
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, vec([[0x60, ...vec(Array.from({ length: 7 }, () => [I32])), 0x00], [0x60, ...vec(Array.from({ length: 10 }, () => [I32])), 0x00]])),
      ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
      ...section(3, vec([[0], [1]])),
      ...section(7, vec(['forward', 'back'].map((f, i) => [...name(f), 0x00, i]))),
      ...section(10, [2, ...forwardBody(def, K), ...backBody(def, K)]),
    ]);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/**
 * A function body over n4 ≥ 1 vectors of four floats: `round(o, at)` writes the code for one
 * vector at the pointers `ptrs` (which then advance by 16 bytes), `at(base, k)` the address of
 * tangent block k of a buffer. `block` (a parameter) is the bytes between tangent blocks.
 * (Unrolling the loop by 2 or 4 vectors, for independent chains to overlap, measured no faster.)
 */
function loop(params: number, n4: number, block: number, K: number, ptrs: number[], round: (o: SimdCode, at: (base: number, k: number) => number[]) => void): number[] {
  const sixteen = params;
  const off = params + 1; // off + k − 1 holds k·block, for 0 < k < K
  const ints = 1 + Math.max(0, K - 1);
  const o = new SimdCode(params + ints);
  const offset = (k: number) => off + k - 1;
  const at = (base: number, k: number) => (k === 0 ? [GET, base] : [GET, base, GET, offset(k), I32_ADD]);
  const setup = set(sixteen, int(16));
  for (let k = 1; k < K; k++) setup.push(...set(offset(k), k === 1 ? [GET, block] : [GET, offset(k - 1), GET, block, I32_ADD]));
  round(o, at);
  const code = o.take();
  for (const p of ptrs) code.push(...addTo(p, sixteen));
  return func([[ints, I32], [o.end - params - ints, V128]], [...o.prologue, ...setup, ...countdown(n4, code)]);
}

/** v128.load at `addr` (code leaving an address) + offset. */
const loadAt = (addr: number[], offset: number): number[] => [...addr, ...simd(0x00, 2, ...uleb(offset))];
/** v128.store of `v` at `addr` + offset. */
const storeAt = (addr: number[], offset: number, v: number[]): number[] => [...addr, ...v, ...simd(0x0b, 2, ...uleb(offset))];

/** forward's body (see {@link jetBytes}). */
function forwardBody(def: ActivationDef, K: number): number[] {
  const [a, ad, h, d1, u, n4, block] = [0, 1, 2, 3, 4, 5, 6];
  return loop(7, n4, block, K, [a, ad, h, d1, u], (o, at) => {
    const A = o.fresh(loadAt([GET, a], 0));
    const H = def.h(o, A);
    const D1 = def.d1(o, A, H);
    o.code.push(...storeAt([GET, h], 0, o.get(H)), ...storeAt([GET, d1], 0, o.get(D1)));
    for (let k = 0; k < K; k++) o.code.push(...storeAt(at(u, k), 0, [...loadAt(at(ad, k), 0), ...o.get(D1), ...MUL]));
  });
}

/** back's body (see {@link jetBytes}). */
function backBody(def: ActivationDef, K: number): number[] {
  const [hBar, uBar, ad, h, d1, a, aBar, adBar, n4, block] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const ptrs = [hBar, uBar, ad, h, d1, ...(def.needsInput ? [a] : []), aBar, adBar];
  return loop(10, n4, block, K, ptrs, (o, at) => {
    const [HB, H, D1] = [hBar, h, d1].map((p) => o.fresh(loadAt([GET, p], 0))) as [Value, Value, Value];
    const A = def.needsInput ? o.fresh(loadAt([GET, a], 0)) : H; // σ″ reads a only where it needs it
    let d1Bar: Value | null = null;
    for (let k = 0; k < K; k++) {
      const UB = o.fresh(loadAt(at(uBar, k), 0));
      const prod = o.mul(UB, o.fresh(loadAt(at(ad, k), 0)));
      d1Bar = d1Bar ? o.add(d1Bar, prod) : prod;
      o.code.push(...storeAt(at(adBar, k), 0, o.get(o.mul(UB, D1))));
    }
    o.code.push(...storeAt([GET, aBar], 0, o.get(activationBack(def, o, HB, d1Bar!, A, H, D1))));
  });
}

interface JetModule {
  forward(a: number, ad: number, h: number, d1: number, u: number, n4: number, block: number): void;
  back(hBar: number, uBar: number, ad: number, h: number, d1: number, a: number, aBar: number, adBar: number, n4: number, block: number): void;
}

/** The most tangent blocks a generated jet unrolls (the exact trace of a D ≤ 16 field). */
const MAX_BLOCKS = 16;

/** One activation's jet over [B, n] buffers and K tangent blocks [K·B, n], by the generated SIMD code. */
export interface HostJet {
  /** h = σ(a), σ′(a) and u = ȧ ⊙ σ′ (per tangent block), or null where it does not run for these buffers. */
  forward(host: HostBuffers, a: T, ad: T): { h: T; d1: T; u: T } | null;
  /**
   * ā = h̄·σ′ + σ̄′·σ″ with σ̄′ = Σ_k ū_k ⊙ ȧ_k, and ǡ = ū ⊙ σ′ (the cotangents of the layer's
   * pre-activation and tangent, from those of its output h̄ and tangent output ū), or null.
   */
  back(host: HostBuffers, hBar: T, uBar: T, ad: T, h: T, d1: T, a: T | null): { aBar: T; adBar: T } | null;
}

/**
 * The SIMD jet of an activation for K tangent blocks on the active backend, or null where it
 * does not run: not tfjs-wasm (or its memory cannot be imported), an operation the generated code
 * does not have, or K past 16.
 */
export function simdJet(activation: ActivationName, K: number): HostJet | null {
  if (tf.getBackend() !== 'wasm' || K < 1 || K > MAX_BLOCKS) return null;
  const def: ActivationDef = ACTIVATION_DEFS[activation];
  const m = heapModule<JetModule>(`jet:${activation}:${K}`, () => jetBytes(def, K));
  if (!m) return null;
  let jet = jets.get(m);
  if (!jet) jets.set(m, (jet = hostJet(m, def)));
  return jet;
}

const jets = new WeakMap<JetModule, HostJet>();

/** n4 for a buffer whose floats come in whole rounds of four, else 0 (the caller's kernels run). */
function rounds(x: T): number {
  const n = x.shape.reduce((p, d) => p * d, 1);
  return n % 4 === 0 ? n / 4 : 0;
}

/** {@link HostJet} by a jet module (see {@link jetBytes}). */
function hostJet(m: JetModule, def: ActivationDef): HostJet {
  return {
    forward(host, a, ad) {
      const n4 = rounds(a);
      if (n4 < 1 || !onHeap(a) || !onHeap(ad)) return null;
      // Every buffer before an address is taken: no view is held, so a heap growth moves nothing read here.
      const [h, d1, u] = [host.alloc([...a.shape]), host.alloc([...a.shape]), host.alloc([...ad.shape])];
      m.forward(heapAddress(a), heapAddress(ad), heapAddress(h), heapAddress(d1), heapAddress(u), n4, 16 * n4);
      return { h, d1, u };
    },
    back(host, hBar, uBar, ad, h, d1, a) {
      const n4 = rounds(h);
      if (n4 < 1 || ![hBar, uBar, ad, h, d1].every(onHeap) || (def.needsInput && (!a || !onHeap(a)))) return null;
      const [aBar, adBar] = [host.alloc([...h.shape]), host.alloc([...uBar.shape])];
      const aAt = def.needsInput ? heapAddress(a!) : 0;
      m.back(heapAddress(hBar), heapAddress(uBar), heapAddress(ad), heapAddress(h), heapAddress(d1), aAt, heapAddress(aBar), heapAddress(adBar), n4, 16 * n4);
      return { aBar, adBar };
    },
  };
}
