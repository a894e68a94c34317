/**
 * An {@link Arith} that writes WebAssembly SIMD128 code: the activations' definitions
 * (activation-defs.ts) evaluated four floats at a time, for the jets that simd-jets.ts generates.
 * Values are v128 locals: each operation appends its code (operands read from their locals, the
 * result set into a new one), so a value read twice is computed once; constants are v128
 * constants, each made once in the prologue. Every operation is an IEEE float32 operation but
 * `exp`, which is written here (see {@link SimdCode.exp}).
 */
import { DIV, F32X4_GT, F32X4_LT, F32X4_MIN, F32X4_NEG, F32X4_PMAX, F32X4_PMIN, F32X4_SUB, GET, I32X4_SHL, MUL, ADD, SET, V128_AND, V128_ANDNOT, V128_BITSELECT, int, simd, splatConst, uleb } from '../backend/wasm-encode.js';
import type { Arith } from './activation-defs.js';

/** A value of the generated code: the v128 local that holds it (its index is LEB128-encoded: there are hundreds). */
export class Value {
  constructor(readonly local: number) {}
}

/** Raised by an operation the generated code does not have (the activation then has no SIMD jet). */
export class Unsupported extends Error {}

/** ln(FLT_MAX): eˣ overflows float32 above it. */
const EXP_OVERFLOW = 88.7228;
/** Below it, eˣ is under the smallest normal float32 (its result flushes to 0). */
const EXP_UNDERFLOW = -87.33;
/** Past it, round(x·log₂e) would be 128, whose 2ⁿ has no exponent bits. */
const EXP_LAST_SCALE = 88.376;

export class SimdCode implements Arith<Value> {
  readonly code: number[] = [];
  readonly prologue: number[] = [];
  private readonly constants = new Map<number, Value>();

  /** `next`: the first free local (past the parameters and the caller's i32 locals). */
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
      this.prologue.push(...splatConst(c), SET, ...uleb(v.local));
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
   * eˣ: n = round(x·log₂e) by adding and subtracting 1.5·2²³ + 127 (which leaves n + 127 in the
   * low bits of the sum, so that shifting them into the exponent field makes 2ⁿ: no float-to-int
   * conversion, which SIMD128 on x64 spends many instructions on), r = x − n·C₁ − n·C₂ (C₁ + C₂ =
   * ln 2, n·C₁ exact), e^r by its Taylor polynomial of degree 7 (truncation below 6·10⁻⁹ relative
   * on |r| ≤ ln 2 / 2), times 2ⁿ. x is first clamped to [−87.33, 88.376] so that 2ⁿ is a normal
   * float (the pseudo-minimum and -maximum keep a NaN x: they return their first operand unless
   * the bound is past it); then +∞ past ln(FLT_MAX) and +0 below −87.33 (a flush to zero of
   * results under 1.2·10⁻³⁸). Within a few ulps of eˣ but on (88.376, 88.7228], where the result
   * stays e^88.376 ≈ 2.4·10³⁸ (up to 30 % low).
   */
  exp = (x: Value): Value => {
    const c = this.binary(this.binary(x, EXP_UNDERFLOW, simd(F32X4_PMAX)), EXP_LAST_SCALE, simd(F32X4_PMIN));
    const magic = 1.5 * 2 ** 23 + 127;
    const biased = this.add(this.mul(c, Math.LOG2E), magic);
    const n = this.sub(biased, magic);
    const r = this.sub(this.sub(c, this.mul(n, 0.693359375)), this.mul(n, -2.12194440e-4));
    let p: Value | number = 1 / 5040;
    for (const k of [720, 120, 24, 6, 2, 1, 1]) p = this.add(this.mul(p, r), 1 / k);
    const two = this.fresh([...this.get(biased), ...int(23), ...simd(I32X4_SHL)]);
    const e = this.mul(p, two);
    // A NaN x fails both comparisons and stays NaN.
    const capped = this.fresh([...this.get(Infinity), ...this.get(e), ...this.get(x), ...this.get(EXP_OVERFLOW), ...simd(F32X4_GT), ...simd(V128_BITSELECT)]);
    return this.fresh([...this.get(capped), ...this.get(x), ...this.get(EXP_UNDERFLOW), ...simd(F32X4_LT), ...simd(V128_ANDNOT)]);
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
