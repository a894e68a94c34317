/**
 * Every ODE-net activation defined once, as expressions over a small arithmetic that each
 * evaluator implements: tfjs ops (the taped `ACTIVATIONS`), the backend's kernels (a
 * KernelRunner, in the fused ops' jets `JETS`) and float64 numbers (the float64 CNF field). An
 * activation gives h = σ(a), σ′ from a and h, and σ″ from (a,) h and σ′ — what forward-mode
 * tangents (u' = ȧ ⊙ σ′) and their reverse (ā = h̄ ⊙ σ′ + σ̄′ ⊙ σ″) read.
 */

/** The arithmetic the definitions are written in (elementwise; numbers broadcast). */
export interface Arith<T> {
  add(a: T | number, b: T | number): T;
  sub(a: T | number, b: T | number): T;
  mul(a: T | number, b: T | number): T;
  minimum(a: T, b: T | number): T;
  sigmoid(a: T): T;
  softplus(a: T): T;
  elu(a: T): T;
  exp(a: T): T;
  /** 1 where a > 0, else 0. */
  step(a: T): T;
}

/** One activation: h, σ′ and σ″ as expressions. */
export interface ActivationDef {
  h<T>(o: Arith<T>, a: T): T;
  /** σ′(a), from a and h = σ(a). */
  d1<T>(o: Arith<T>, a: T, h: T): T;
  /** σ″(a), from a (only read where `needsInput`), h and σ′. */
  d2<T>(o: Arith<T>, a: T, h: T, d1: T): T;
  /** Whether σ″ reads a (else a backward pass needs only h and σ′). */
  needsInput: boolean;
  /** ā = h̄·σ′ + σ̄′·σ″ in fewer operations than the general form, where the activation has one. */
  back?<T>(o: Arith<T>, hBar: T, d1Bar: T, h: T, d1: T): T;
}

/** ā = h̄·σ′ + σ̄′·σ″, the reverse of an activation's jet, from its definition. */
export function activationBack<T>(def: ActivationDef, o: Arith<T>, hBar: T, d1Bar: T, a: T, h: T, d1: T): T {
  return def.back ? def.back(o, hBar, d1Bar, h, d1) : o.add(o.mul(hBar, d1), o.mul(d1Bar, def.d2(o, a, h, d1)));
}

/** The activations of ODE nets (and of the couplings' conditioners, relu apart). */
export const ACTIVATION_DEFS = {
  // tanh(a) = 2σ(2a) − 1: tfjs-wasm's sigmoid is vectorised, its tanh is not (≈ 10× slower).
  tanh: {
    h: (o, a) => o.sub(o.mul(o.sigmoid(o.mul(a, 2)), 2), 1),
    d1: (o, _a, h) => o.sub(1, o.mul(h, h)),
    d2: (o, _a, h, d1) => o.mul(o.mul(h, d1), -2),
    needsInput: false,
    // σ″ = −2hσ′, so ā = σ′·(h̄ − 2h·σ̄′).
    back: (o, hBar, d1Bar, h, d1) => o.mul(d1, o.sub(hBar, o.mul(o.mul(h, d1Bar), 2))),
  },
  sigmoid: {
    h: (o, a) => o.sigmoid(a),
    d1: (o, _a, h) => o.mul(h, o.sub(1, h)),
    d2: (o, _a, h, d1) => o.mul(d1, o.sub(1, o.mul(h, 2))),
    needsInput: false,
  },
  softplus: {
    h: (o, a) => o.softplus(a),
    // σ(a) from a: 1 − e^(−h) would cancel for very negative a.
    d1: (o, a) => o.sigmoid(a),
    d2: (o, _a, _h, d1) => o.mul(d1, o.sub(1, d1)),
    needsInput: false,
  },
  swish: {
    h: (o, a) => o.mul(a, o.sigmoid(a)),
    d1: (o, a) => {
      const s = o.sigmoid(a);
      return o.mul(s, o.add(1, o.mul(a, o.sub(1, s))));
    },
    // s(1 − s)(2 + a(1 − 2s)) with s = σ(a).
    d2: (o, a) => {
      const s = o.sigmoid(a);
      return o.mul(o.mul(s, o.sub(1, s)), o.add(2, o.mul(a, o.sub(1, o.mul(s, 2)))));
    },
    needsInput: true,
  },
  elu: {
    h: (o, a) => o.elu(a),
    d1: (o, a) => {
      const positive = o.step(a);
      return o.add(positive, o.mul(o.sub(1, positive), o.exp(o.minimum(a, 0))));
    },
    // 0 for a > 0, eᵃ = σ′ otherwise.
    d2: (o, a, _h, d1) => o.mul(d1, o.sub(1, o.step(a))),
    needsInput: true,
  },
} satisfies Record<string, ActivationDef>;

/** Plain float64 numbers. */
export const NUMBER_ARITH: Arith<number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  minimum: (a, b) => Math.min(a, b),
  sigmoid: (a) => 1 / (1 + Math.exp(-a)),
  softplus: (a) => (a > 30 ? a : Math.log1p(Math.exp(a))),
  elu: (a) => (a > 0 ? a : Math.expm1(a)),
  exp: (a) => Math.exp(a),
  step: (a) => (a > 0 ? 1 : 0),
};

/** A WGSL f32 literal. */
const lit = (x: number | string): string => (typeof x === 'string' ? x : Number.isInteger(x) ? `${x}.0` : `${x}`);

/** WGSL expressions (f32): the definitions printed as shader code, for fused WebGPU programs. */
export const WGSL_ARITH: Arith<string> = {
  add: (a, b) => `(${lit(a)} + ${lit(b)})`,
  sub: (a, b) => `(${lit(a)} - ${lit(b)})`,
  mul: (a, b) => `(${lit(a)} * ${lit(b)})`,
  minimum: (a, b) => `min(${a}, ${lit(b)})`,
  sigmoid: (a) => `(1.0 / (1.0 + exp(-${a})))`,
  softplus: (a) => `select(log(1.0 + exp(${a})), ${a}, ${a} > 30.0)`,
  elu: (a) => `select(exp(${a}) - 1.0, ${a}, ${a} > 0.0)`,
  exp: (a) => `exp(${a})`,
  step: (a) => `select(0.0, 1.0, ${a} > 0.0)`,
};
