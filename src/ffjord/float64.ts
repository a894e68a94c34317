/**
 * A CNF block in float64: its ODE net's weights copied into Float64Arrays and the augmented field
 * [dz/dt, dL/dt = tr ∂f/∂z] evaluated in plain JS with the exact trace by forward-mode
 * differentiation (D tangents through the net). It runs on the float64 solver path, so a CNF's
 * log-density can be computed to 1e-9 and beyond — the reference of the solver-tolerance harness,
 * where float32 solves cannot go below ~1e-7.
 */
import { tf } from '../backend/engine.js';
import { readValues } from '../backend/reads.js';
import { InvalidArgumentError } from '../errors.js';
import type { ActivationName } from '../nn/activations.js';
import { ACTIVATION_DEFS, NUMBER_ARITH } from '../nn/activation-defs.js';
import type { ActivationDef } from '../nn/activation-defs.js';
import { LAYER_DEFS, namedExtras } from '../nn/layer-defs.js';
import { odeint } from '../ode/odeint.js';
import type { MethodName } from '../ode/tableaux/index.js';
import type { CNF } from './cnf.js';

/** Each activation's value and derivative in float64, from its one definition. */
const ACT64 = Object.fromEntries(Object.entries(ACTIVATION_DEFS).map(([name, def]: [string, ActivationDef]) => [name, (x: number): [number, number] => {
  const h = def.h(NUMBER_ARITH, x);
  return [h, def.d1(NUMBER_ARITH, x, h)];
}])) as Record<ActivationName, (x: number) => [number, number]>;

interface Layer64 {
  W: Float64Array;
  /** A conditioned net's W_c ([contextDim, cols]): the context adds c·W_c to the shift. */
  Wc: Float64Array | null;
  rows: number;
  cols: number;
  /** Per output unit at time t: h' = (h·W)·scale(t) + shift(t). */
  scale: (t: number, out: Float64Array) => void;
  shift: (t: number, out: Float64Array) => void;
}


/** The CNF's net as float64 layers (weights read once), their time terms from the kinds' one definition. */
function layers64(cnf: CNF): Layer64[] {
  const net = cnf.net;
  const def = LAYER_DEFS[net.layer];
  const sizes = [net.dim, ...net.hidden, net.dim];
  return net.layerVariables.map((vars, l) => {
    // readValues: dataSync where the backend can, else answered by runDeferred (WebGPU: referenceLogProbAsync).
    const layer = vars.map((v) => Float64Array.from(readValues(tf.clone(v), 'cnfField64')));
    const Wc = net.contextDim > 0 ? layer.pop()! : null;
    const rows = sizes[l]!;
    const cols = sizes[l + 1]!;
    // concat: the last row of W multiplies t.
    const W = def.timeRow ? layer[0]!.subarray(0, rows * cols) : layer[0]!;
    const b = layer[1]!;
    const q = namedExtras(def, layer, () => layer[0]!.subarray(rows * cols));
    // Each unit's named time weights, once: the field reads them at every evaluation.
    const at = Array.from({ length: cols }, (_, j): Record<string, number> => Object.fromEntries(Object.entries(q).map(([k, v]) => [k, v.length === 1 ? v[0]! : v[j]!])));
    const scale = (t: number, out: Float64Array) => {
      for (let j = 0; j < cols; j++) out[j] = def.scale ? def.scale(NUMBER_ARITH, t, at[j]!) : 1;
    };
    const shift = (t: number, out: Float64Array) => {
      for (let j = 0; j < cols; j++) out[j] = def.shift(NUMBER_ARITH, t, b[j]!, def.scale ? def.scale(NUMBER_ARITH, t, at[j]!) : null, at[j]!);
    };
    return { W, Wc, rows, cols, scale, shift };
  });
}

/**
 * The augmented field of `cnf` for N points in float64: state [z (N·D, row-major), L (N)],
 * derivative [f(t, z), tr ∂f/∂z]. Writes into `dy`. A conditional CNF reads the points'
 * context rows (`context`, row-major [N, contextDim]).
 *
 * @example
 * ```ts
 * import { CNF, cnfField64, createFlow, leafBlocks } from 'biflow';
 *
 * const cnf = leafBlocks(createFlow({ type: 'ffjord', dim: 2 }).bijector).find((b): b is CNF => b instanceof CNF)!;
 * const f = cnfField64(cnf, 1);                // one point: state [z₁, z₂, L]
 * const dy = new Float64Array(3);
 * f(0, Float64Array.of(0.5, -0.2, 0), dy);     // dy = [dz/dt, tr ∂f/∂z]
 * ```
 */
export function cnfField64(cnf: CNF, N: number, context?: ArrayLike<number>): (t: number, y: Float64Array, dy: Float64Array) => void {
  const D = cnf.dim;
  const C = cnf.contextDim;
  if (C > 0 && (context === undefined || context.length !== N * C)) throw new InvalidArgumentError('cnfField64', 'context', context === undefined ? undefined : `${context.length} values`, `must hold ${N * C} values (${N} rows of contextDim ${C}, row-major) for a conditional CNF, got {value}.`);
  const layers = layers64(cnf);
  const act = ACT64[cnf.net.activation];
  const width = Math.max(...layers.map((l) => l.cols), D);
  // Value h and D tangents J (J[i] = ∂h/∂z_i), per point.
  let h = new Float64Array(width), hNext = new Float64Array(width);
  let J = new Float64Array(D * width), JNext = new Float64Array(D * width);
  const scale = layers.map((l) => new Float64Array(l.cols));
  const shift = layers.map((l) => new Float64Array(l.cols));
  return (t, y, dy) => {
    layers.forEach((l, k) => {
      l.scale(t, scale[k]!);
      l.shift(t, shift[k]!);
    });
    for (let p = 0; p < N; p++) {
      for (let i = 0; i < D; i++) h[i] = y[p * D + i]!;
      J.fill(0);
      for (let i = 0; i < D; i++) J[i * width + i] = 1;
      layers.forEach((l, k) => {
        const { W, rows, cols } = l;
        const sc = scale[k]!;
        const sh = shift[k]!;
        const last = k === layers.length - 1;
        for (let j = 0; j < cols; j++) {
          let v = 0;
          for (let r = 0; r < rows; r++) v += h[r]! * W[r * cols + j]!;
          let pre = v * sc[j]! + sh[j]!;
          if (l.Wc) for (let q = 0; q < C; q++) pre += context![p * C + q]! * l.Wc[q * cols + j]!;
          const [a, da] = last ? [pre, 1] : act(pre);
          hNext[j] = a;
          for (let i = 0; i < D; i++) {
            let g = 0;
            for (let r = 0; r < rows; r++) g += J[i * width + r]! * W[r * cols + j]!;
            JNext[i * width + j] = g * sc[j]! * da;
          }
        }
        [h, hNext] = [hNext, h];
        [J, JNext] = [JNext, J];
      });
      let trace = 0;
      for (let i = 0; i < D; i++) {
        dy[p * D + i] = h[i]!;
        trace += J[i * width + i]!;
      }
      dy[N * D + p] = trace;
    }
  };
}

/**
 * The CNF's forward map of the rows x (row-major [N, D]) in float64: z(T) and the log-det L(T),
 * solved with `method` at rtol = atol = `tol` (default dopri8 at 1e-10); a conditional CNF takes
 * the rows' `context` (row-major [N, contextDim]).
 *
 * @example
 * ```ts
 * import { CNF, cnfForward64, createFlow, leafBlocks } from 'biflow';
 *
 * const cnf = leafBlocks(createFlow({ type: 'ffjord', dim: 2 }).bijector).find((b): b is CNF => b instanceof CNF)!;
 * const { z, logDet, nfe } = cnfForward64(cnf, [0.5, -0.2, 1, 1]); // two points, row-major
 * z.length;       // 4
 * logDet.length;  // 2
 * nfe;
 * ```
 */
export function cnfForward64(cnf: CNF, x: ArrayLike<number>, { method = 'dopri8', tol = 1e-10, context }: { method?: MethodName; tol?: number; context?: ArrayLike<number> } = {}): { z: Float64Array; logDet: Float64Array; nfe: number } {
  const D = cnf.dim;
  const N = x.length / D;
  const y0 = new Float64Array(N * D + N);
  y0.set(Array.from(x));
  const f = cnfField64(cnf, N, context);
  const sol = odeint((t: number, y: Float64Array, dy?: Float64Array) => {
    const out = dy ?? new Float64Array(y.length);
    f(t, y, out);
    return out;
  }, y0, [0, cnf.T], { method, rtol: tol, atol: tol });
  const end = sol.ys[1]!;
  return { z: end.slice(0, N * D), logDet: end.slice(N * D), nfe: sol.stats.nfe };
}
