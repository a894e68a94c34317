/**
 * A small symbolic arithmetic: the definitions' `Arith` on expression nodes, so a definition
 * written once (a layer kind's scale and shift, layer-defs.ts) can be differentiated once, at
 * module load, and the derivatives evaluated through any other `Arith` (tfjs ops, kernels, WGSL,
 * float64 numbers). Nodes are hash-consed — one node per distinct expression — so a derivative
 * that reuses a subexpression (σ′ = σ(1 − σ)) shares it, and an evaluation computes it once.
 * Building simplifies as it goes: constants fold, x + 0, x − 0, x·1, x·0 and x − x reduce.
 */
import type { Arith } from './activation-defs.js';
import { NUMBER_ARITH } from './activation-defs.js';

/** The unary operations of {@link Arith}. */
export type UnaryOp = 'sigmoid' | 'softplus' | 'elu' | 'exp' | 'step';
/** The binary operations of {@link Arith}. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'minimum';

/** An expression node: a constant, a named variable, or an operation on nodes. */
export type Expr =
  | { readonly kind: 'const'; readonly id: number; readonly value: number }
  | { readonly kind: 'var'; readonly id: number; readonly name: string }
  | { readonly kind: 'op'; readonly id: number; readonly op: UnaryOp | BinaryOp; readonly args: readonly Expr[] };

const interned = new Map<string, Expr>();

function intern(key: string, make: (id: number) => Expr): Expr {
  let e = interned.get(key);
  if (!e) interned.set(key, (e = make(interned.size)));
  return e;
}

/** The constant x. */
export const constant = (value: number): Expr => intern(`c${Object.is(value, -0) ? 0 : value}`, (id) => ({ kind: 'const', id, value }));
/** The variable `name`. */
export const variable = (name: string): Expr => intern(`v${name}`, (id) => ({ kind: 'var', id, name }));

/** Whether e is the constant 0 (a term that need not be computed). */
export const isZero = (e: Expr): boolean => e.kind === 'const' && e.value === 0;

const node = (x: Expr | number): Expr => (typeof x === 'number' ? constant(x) : x);
const isConst = (e: Expr, v?: number): boolean => e.kind === 'const' && (v === undefined || e.value === v);

function op(name: UnaryOp | BinaryOp, ...xs: (Expr | number)[]): Expr {
  let args = xs.map(node);
  if (args.every((a) => a.kind === 'const')) {
    const values = args.map((a) => (a as { value: number }).value);
    return constant((NUMBER_ARITH[name] as (...v: number[]) => number)(...values));
  }
  const [a, b] = args as [Expr, Expr];
  if (name === 'add' && (isConst(a, 0) || isConst(b, 0))) return isConst(a, 0) ? b : a;
  if (name === 'sub' && isConst(b, 0)) return a;
  if (name === 'sub' && a === b) return constant(0);
  if (name === 'mul' && (isConst(a, 0) || isConst(b, 0))) return constant(0);
  if (name === 'mul' && (isConst(a, 1) || isConst(b, 1))) return isConst(a, 1) ? b : a;
  // One node for a + b and b + a (exact in floating point: the order of two operands does not round differently).
  if ((name === 'add' || name === 'mul' || name === 'minimum') && a.id > b.id) args = [b, a];
  return intern(`${name}(${args.map((e) => e.id).join(',')})`, (id) => ({ kind: 'op', id, op: name, args }));
}

/** The definitions' arithmetic building expression nodes. */
export const SYMBOLIC: Arith<Expr> = {
  add: (a, b) => op('add', a, b),
  sub: (a, b) => op('sub', a, b),
  mul: (a, b) => op('mul', a, b),
  minimum: (a, b) => op('minimum', a, b),
  sigmoid: (a) => op('sigmoid', a),
  softplus: (a) => op('softplus', a),
  elu: (a) => op('elu', a),
  exp: (a) => op('exp', a),
  step: (a) => op('step', a),
};

const S = SYMBOLIC;
const derivCache = new Map<string, Expr>();

/** ∂e/∂x for the variable named x (memoised: shared subexpressions are differentiated once). */
export function derivative(e: Expr, x: string): Expr {
  if (e.kind === 'const') return constant(0);
  if (e.kind === 'var') return constant(e.name === x ? 1 : 0);
  const key = `${e.id}/${x}`;
  const hit = derivCache.get(key);
  if (hit) return hit;
  const [a, b] = e.args as [Expr, Expr];
  const da = derivative(a, x);
  const db = b ? derivative(b, x) : constant(0);
  let d: Expr;
  switch (e.op) {
    case 'add': d = S.add(da, db); break;
    case 'sub': d = S.sub(da, db); break;
    case 'mul': d = S.add(S.mul(da, b), S.mul(a, db)); break;
    // min(a, b) follows a where a < b: ∂ = step(b − a)·∂a + (1 − step(b − a))·∂b.
    case 'minimum': {
      const first = S.step(S.sub(b, a));
      d = S.add(S.mul(first, da), S.mul(S.sub(1, first), db));
      break;
    }
    case 'sigmoid': d = S.mul(S.mul(e, S.sub(1, e)), da); break;
    case 'softplus': d = S.mul(S.sigmoid(a), da); break;
    // elu′ = 1 for a > 0, eᵃ = elu(a) + 1 otherwise.
    case 'elu': d = S.mul(S.add(S.step(a), S.mul(S.sub(1, S.step(a)), S.add(e, 1))), da); break;
    case 'exp': d = S.mul(e, da); break;
    case 'step': d = constant(0); break;
  }
  derivCache.set(key, d);
  return d;
}

/** e with every occurrence of the node `from` replaced by `to`. */
export function substitute(e: Expr, from: Expr, to: Expr): Expr {
  const memo = new Map<Expr, Expr>();
  const walk = (n: Expr): Expr => {
    if (n === from) return to;
    if (n.kind !== 'op') return n;
    let m = memo.get(n);
    if (!m) memo.set(n, (m = (SYMBOLIC[n.op] as (...v: Expr[]) => Expr)(...n.args.map(walk))));
    return m;
  };
  return walk(e);
}

/** The variable names an expression reads. */
export function variablesOf(e: Expr, into = new Set<string>()): Set<string> {
  if (e.kind === 'var') into.add(e.name);
  else if (e.kind === 'op') for (const a of e.args) variablesOf(a, into);
  return into;
}

/**
 * The expressions evaluated through `o` at the variables' values (a value or a number). Each
 * node is computed once across all of them; operations on numbers alone are done in float64
 * (no kernel for a scalar), so a number t folds away.
 */
export function evaluate<T>(exprs: readonly Expr[], o: Arith<T>, env: Readonly<Record<string, T | number>>): (T | number)[] {
  const memo = new Map<Expr, T | number>();
  const walk = (e: Expr): T | number => {
    if (e.kind === 'const') return e.value;
    if (e.kind === 'var') {
      const v = env[e.name];
      if (v === undefined) throw new Error(`evaluate: no value for the variable '${e.name}'`);
      return v;
    }
    const hit = memo.get(e);
    if (hit !== undefined) return hit;
    const args = e.args.map(walk);
    let v: T | number;
    if (args.every((a) => typeof a === 'number')) v = (NUMBER_ARITH[e.op] as (...x: number[]) => number)(...(args as number[]));
    else if (e.op === 'minimum') v = typeof args[0] === 'number' ? o.minimum(args[1] as T, args[0]) : o.minimum(args[0] as T, args[1]!);
    else v = (o[e.op] as (...x: (T | number)[]) => T)(...args);
    memo.set(e, v);
    return v;
  };
  return exprs.map(walk);
}
