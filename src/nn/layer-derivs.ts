/**
 * Each layer kind's derivatives, from its one definition (layer-defs.ts), differentiated
 * symbolically once at module load (symbolic.ts) — no kind is written twice. A layer is
 *   a = h·W_e + b_e,   W_e = W⊙S(t, q),   b_e = Sh(t, b, S, q),
 * so from the cotangents of W_e and b_e the gradients follow one rule for every kind:
 *   dW  = dW_e⊙S                        (timeRow kinds: W's time row is the variable `wt`)
 *   dS  = Σ_i dW_e,ij·W_ij + db_e·∂Sh/∂S  (`dWW` stands for the sum)
 *   dv  = dS·∂S/∂v + db_e·∂Sh/∂v         (per unit; summed over units for a per-layer v)
 *   db  = db_e·∂Sh/∂b,  and t̄ = Σ_units dS·∂S/∂t + db_e·∂Sh/∂t where t is an input.
 * With a time per row (flow matching), a = p⊙S + Sh with p = h·W per row: the same expressions
 * per element with dWW = ā⊙p and db_e = ā, summed over rows as well.
 */
import { LAYER_DEFS } from './layer-defs.js';
import type { LayerDef } from './layer-defs.js';
import type { LayerKind } from './odenet.js';
import { derivative, substitute, SYMBOLIC, variable } from './symbolic.js';
import type { Expr } from './symbolic.js';

/** A layer kind's forward expressions and gradients, as expression nodes. */
export interface LayerDerivs {
  /** The kind's time variables by name: its `extras`, then `wt` (W's time row) for timeRow kinds. */
  readonly vars: readonly string[];
  /** `vars` without `wt`: the time variables that are variables of their own. */
  readonly extras: readonly string[];
  /** S over `t` and the time variables; null where the kind has no scale (1). */
  readonly scale: Expr | null;
  /** Sh over `t`, `b`, `S` and the time variables. */
  readonly shift: Expr;
  /** `shift` with S written out (a loop computing S and Sh at once). */
  readonly shiftOfT: Expr;
  /** Whether b's gradient is db_e itself (the shift is b plus terms without b): no copy needed. */
  readonly bPassed: boolean;
  /** Whether the layer is a plain affine one, a = h·W + b (no scale, the shift is b). */
  readonly plain: boolean;
  /**
   * The gradient of `b` and of each time variable per unit, over `t`, `b`, `S`, the time
   * variables and the cotangents `dWW` (Σ_i dW_e,ij·W_ij) and `dbe` (of b_e).
   */
  readonly grads: Readonly<Record<string, Expr>>;
  /** ∂L/∂t per unit (over the same names): summed over units, t̄. */
  readonly gradT: Expr;
  /** Per row (flow matching): a = p⊙S + Sh over `p` (h·W), `S`, `t`, `b` and the time variables. */
  readonly output: Expr;
  /** `output` with S written out (a loop computing a and S at once). */
  readonly forward: Expr;
  /** `grads` and `gradT` per element with a time per row: over `aBar` (ā) and `p` in place of the cotangents. */
  readonly rowGrads: Readonly<Record<string, Expr>>;
  readonly rowGradT: Expr;
}

const O = SYMBOLIC;

/** The derivatives of one layer definition. */
function deriveLayer(def: LayerDef): LayerDerivs {
  const vars = [...def.extras, ...(def.timeRow ? ['wt'] : [])];
  const q = Object.fromEntries(vars.map((name) => [name, variable(name)]));
  const [t, b, S] = [variable('t'), variable('b'), variable('S')];
  const scale = def.scale ? def.scale(O, t, q) : null;
  const shift = def.shift(O, t, b, scale ? S : null, q);
  const dbe = variable('dbe');
  const dS = scale ? O.add(variable('dWW'), O.mul(dbe, derivative(shift, 'S'))) : null;
  // ∂S/∂x reads S itself where it can (σ′ = S(1 − S) for a gate): S is computed, not recomputed.
  const grad = (x: string): Expr => O.add(scale ? O.mul(dS!, substitute(derivative(scale, x), scale, S)) : 0, O.mul(dbe, derivative(shift, x)));
  const grads = Object.fromEntries(['b', ...vars].map((name) => [name, grad(name)]));
  const gradT = grad('t');
  const aBar = variable('aBar');
  const p = variable('p');
  const output = O.add(scale ? O.mul(p, S) : p, shift);
  const perRow = (e: Expr) => substitute(substitute(e, variable('dWW'), O.mul(aBar, p)), dbe, aBar);
  return {
    vars,
    extras: [...def.extras],
    scale,
    shift,
    shiftOfT: scale ? substitute(shift, S, scale) : shift,
    bPassed: grads.b === dbe,
    plain: !scale && shift === b,
    grads,
    gradT,
    output,
    forward: scale ? substitute(output, S, scale) : output,
    rowGrads: Object.fromEntries(Object.entries(grads).map(([name, e]) => [name, perRow(e)])),
    rowGradT: perRow(gradT),
  };
}

/** Every layer kind's derivatives (built once, here). */
export const LAYER_DERIVS = Object.fromEntries(Object.entries(LAYER_DEFS).map(([kind, def]) => [kind, deriveLayer(def)])) as Record<LayerKind, LayerDerivs>;
