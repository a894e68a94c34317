/**
 * Expressions (symbolic.ts) evaluated on a {@link KernelRunner}: where the backend runs WGSL
 * (WebGPU), each one printed as one fused elementwise program; elsewhere through the runner's
 * kernels, every shared node computed once across them and arithmetic on numbers alone done in
 * float64 (a number t costs no kernel).
 */
import { tf } from '../backend/engine.js';
import type { KernelRunner } from '../backend/kernels.js';
import { WGSL_ARITH } from './activation-defs.js';
import { evaluate, variablesOf } from './symbolic.js';
import type { Expr } from './symbolic.js';
import type { LayerDerivs } from './layer-derivs.js';

type T = tf.TensorInfo;

/** The expressions' values at `env` (variable name → value or number); a number where an expression reads numbers only. */
export function runExprs(r: KernelRunner, exprs: readonly Expr[], env: Readonly<Record<string, T | number>>): (T | number)[] {
  if (!r.runsPrograms()) return evaluate(exprs, r, env);
  const tensors = new Map<string, T>();
  const tensor = (name: string): T => {
    let v = tensors.get(name);
    if (!v) {
      const x = env[name]!;
      tensors.set(name, (v = typeof x === 'number' ? r.constant(Float32Array.of(x), []) : x));
    }
    return v;
  };
  return exprs.map((e) => {
    const names = [...variablesOf(e)];
    if (e.kind === 'const') return e.value;
    if (e.kind === 'var') return env[e.name]!;
    const inputs = names.map(tensor);
    const code = evaluate([e], WGSL_ARITH, Object.fromEntries(names.map((name, i) => [name, `v${i}`])))[0]!;
    const shape = inputs.reduce<number[]>((s, x) => tf.backend_util.assertAndGetBroadcastShape(s, x.shape), []);
    return r.elementwise(typeof code === 'number' ? `${code}` : code, inputs, shape) ?? evaluate([e], r, env)[0]!;
  });
}

/** A value as a tensor of `shape` (a number filled in). */
export function asTensor(r: KernelRunner, v: T | number, shape: number[]): T {
  return typeof v === 'number' ? r.constant(new Float32Array(tf.util.sizeFromShape(shape)).fill(v), shape) : v;
}

/** A layer's gradients in its variables' order [W, b, ...extras] from W_in's and those by name (`wt`: W's time row, appended to W's). */
export function layerGradList(r: KernelRunner, d: LayerDerivs, gW: T, grads: Readonly<Record<string, T>>): T[] {
  return [d.vars.includes('wt') ? r.concat([gW, r.reshape(grads.wt!, [1, -1])], 0) : gW, grads.b!, ...d.extras.map((k) => grads[k]!)];
}

/**
 * A gradient per unit ([n]) or per element ([B, n]; a number: that everywhere on `full`) summed
 * to its variable's shape: over rows, and over units too for a per-layer variable.
 */
export function reduceTo(r: KernelRunner, v: T | number, full: number[], shape: number[]): T {
  let g = asTensor(r, v, full);
  if (g.shape.length === 2) g = r.sum(g, 0);
  return r.reshape(tf.util.sizeFromShape(shape) === 1 ? r.sum(g) : g, shape);
}
