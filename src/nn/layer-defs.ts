/**
 * Every ODE-net layer kind's time dependence defined once. Each layer is
 *   a = (h·W)⊙S(t) + Sh(t)   (W: the product weights; for `concat` all rows of the variable but t's),
 * with a per-unit scale S (none: 1) and shift Sh written as expressions over the activations'
 * arithmetic (activation-defs.ts), so that every evaluator reads the same formulas: tfjs ops
 * (the taped net, with a time per row where flow matching asks), the backend's kernels and
 * host loops (the fused CNF op's effective weights W⊙S, Sh), WGSL (one fused program per
 * quantity on WebGPU) and float64 numbers (the float64 CNF field).
 */
import type { Arith } from './activation-defs.js';
import { ACTIVATION_DEFS } from './activation-defs.js';
import type { LayerKind } from './odenet.js';

/** One layer kind: its time variables (after W and b) and its scale and shift. */
export interface LayerDef {
  /** Names of the kind's time variables after W and b, in the layer's order (`wt`: W's time row, for `timeRow` kinds). */
  extras: readonly string[];
  /** Whether W's last row multiplies t ([h, t]·W); it is then `wt` in the formulas. */
  timeRow: boolean;
  /**
   * How each time variable of `extras` starts ({@link ODENet}): its shape (`row`: [1, n], `vector`:
   * [n], `one`: [1, 1], one per layer) and, where `seed` is given, uniform in [−1, 1] from the
   * layer's seed plus `seed` (else zeros).
   */
  init: Readonly<Record<string, { shape: 'row' | 'vector' | 'one'; seed?: number }>>;
  /** The scale S(t) of h·W, per unit (or one for the layer); null: 1. */
  scale: (<T>(o: Arith<T>, t: T, q: Readonly<Record<string, T>>) => T) | null;
  /** The shift Sh(t) from b, the scale S (where there is one) and t. */
  shift: <T>(o: Arith<T>, t: T, b: T, s: T | null, q: Readonly<Record<string, T>>) => T;
}

const gate = <T>(o: Arith<T>, t: T, q: Readonly<Record<string, T>>): T => o.sigmoid(o.add(o.mul(t, q.wg!), q.bg!));

/** The layer kinds of {@link ODENet}. */
export const LAYER_DEFS: Record<LayerKind, LayerDef> = {
  // (h·W + b)⊙σ(t·w_g + b_g) + t·w_b
  concatsquash: { extras: ['wg', 'bg', 'wb'], timeRow: false, init: { wg: { shape: 'row', seed: 1 }, bg: { shape: 'vector' }, wb: { shape: 'row', seed: 2 } }, scale: gate, shift: (o, t, b, s, q) => o.add(o.mul(b, s!), o.mul(t, q.wb!)) },
  // [h, t]·W + b
  concat: { extras: [], timeRow: true, init: {}, scale: null, shift: (o, t, b, _s, q) => o.add(b, o.mul(t, q.wt!)) },
  // (h·W + b)⊙σ(t·w_g + b_g)
  squash: { extras: ['wg', 'bg'], timeRow: false, init: { wg: { shape: 'row', seed: 1 }, bg: { shape: 'vector' } }, scale: gate, shift: (o, _t, b, s) => o.mul(b, s!) },
  // h·W + b
  ignore: { extras: [], timeRow: false, init: {}, scale: null, shift: (_o, _t, b) => b },
  // h·(W·(1 + tanh(t·w_h))) + b
  hyper: { extras: ['wh'], timeRow: false, init: { wh: { shape: 'one', seed: 3 } }, scale: (o, t, q) => o.add(1, ACTIVATION_DEFS.tanh.h(o, o.mul(t, q.wh!))), shift: (_o, _t, b) => b },
};

/** A layer's time variables by name, from its variables [W, b, ...extras] and W's time row (`timeRow` kinds). */
export function namedExtras<T>(def: LayerDef, p: readonly T[], timeRowOf: () => T): Record<string, T> {
  const q: Record<string, T> = Object.fromEntries(def.extras.map((name, i) => [name, p[2 + i]!]));
  if (def.timeRow) q.wt = timeRowOf();
  return q;
}
