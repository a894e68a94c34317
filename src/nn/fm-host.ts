/**
 * The FM loss op's arithmetic on host buffers (tfjs-wasm keeps tensors in its heap): where a
 * kernel call on a [B, n] tensor costs more than the work — the loss, and each layer's time
 * dependence forwards and backwards, one generated loop each from the kind's definition
 * (host-loops.ts), column sums included (tfjs-wasm transposes before reducing an axis;
 * transposes: host-ops' hostTranspose). Every function allocates its outputs before it takes
 * views (an allocation may grow the heap, which detaches older views).
 */
import { tf } from '../backend/engine.js';
import type { HostBuffers } from '../backend/kernels.js';
import { hostLoop } from './host-loops.js';
import type { Level } from './host-loops.js';
import type { LayerDerivs } from './layer-derivs.js';
import { isZero, SYMBOLIC, variable } from './symbolic.js';

type T = tf.TensorInfo;

/** The layer loops' per-element values: p = h·W, its cotangent ā and the scale S. */
const ROW_VALUES = ['p', 'aBar', 'S'];

/** Host kernels for the FM loss op. */
export function fmHost(host: HostBuffers) {
  return {
    /** The loss Σ‖f − u‖²/B and its cotangent ā = 2(f − u)/B. */
    loss(f: T, u: T): { loss: T; aBar: T } {
      const B = f.shape[0]!;
      const [loss, aBar] = [host.alloc([]), host.alloc(f.shape)];
      const [fv, uv, lv, av] = [host.view(f), host.view(u), host.view(loss), host.view(aBar)];
      let sum = 0;
      for (let k = 0; k < fv.length; k++) {
        const e = fv[k]! - uv[k]!;
        sum += e * e;
        av[k] = (2 * e) / B;
      }
      lv[0] = sum / B;
      return { loss, aBar };
    },

    /**
     * A layer per row from its kind's one definition: a = p⊙S + Sh at the rows' times t ([B, 1]),
     * with p = h·W, and S ([B, n]; kinds with a scale) for the backward pass.
     */
    layerForward(d: LayerDerivs, p: T, t: T, b: T, q: Readonly<Record<string, T>>): { a: T; S: T | null } {
      const [B, n] = p.shape as [number, number];
      const [a, S] = [host.alloc([B, n]), d.scale ? host.alloc([B, n]) : null];
      const { inputs, values } = layerInputs(d, { t, b, p }, q);
      const outputs = [{ expr: d.forward, level: 'elem' as const }, ...(d.scale ? [{ expr: d.scale, level: 'elem' as const }] : [])];
      hostLoop(inputs, outputs)(B, n, values(), [a, ...(S ? [S] : [])].map((x) => host.view(x)));
      return { a, S };
    },

    /**
     * The layer backwards from ā: p̄ = ā⊙S, the gradients of b and of the time variables (by
     * name, each of its variable's shape; `wt` as a row), and t̄ += Σ_units ∂/∂t (into `tBar`, [B, 1]).
     */
    layerBackward(d: LayerDerivs, aBar: T, p: T | null, S: T | null, t: T, b: T, q: Readonly<Record<string, T>>, tBar: T): { pBar: T; grads: Record<string, T> } {
      const [B, n] = aBar.shape as [number, number];
      const names = ['b', ...d.vars];
      const shapes = names.map((k) => (k === 'b' ? b.shape : q[k]!.shape));
      const pBar = S ? host.alloc([B, n]) : aBar;
      const outs = shapes.map((shape) => host.alloc(shape));
      const { inputs, values } = layerInputs(d, { t, b, aBar, ...(p ? { p } : {}), ...(S ? { S } : {}) }, q);
      const outputs = names.map((k, i) => ({ expr: d.rowGrads[k]!, level: (tf.util.sizeFromShape(shapes[i]!) === 1 ? 'scalar' : 'unit') as Level }));
      const timeDependent = !isZero(d.rowGradT);
      if (S) outputs.push({ expr: SYMBOLIC.mul(variable('aBar'), variable('S')), level: 'elem' });
      if (timeDependent) outputs.push({ expr: d.rowGradT, level: 'row' });
      const targets = [...outs, ...(S ? [pBar] : []), ...(timeDependent ? [tBar] : [])];
      hostLoop(inputs, outputs)(B, n, values(), targets.map((x) => host.view(x)));
      return { pBar, grads: Object.fromEntries(names.map((k, i) => [k, outs[i]!])) };
    },
  };

  /** A layer loop's inputs by name: t per row, p, ā and S per element, b and the time variables per unit (or one for the layer). */
  function layerInputs(d: LayerDerivs, given: Readonly<Record<string, T>>, q: Readonly<Record<string, T>>) {
    const all: [string, T][] = [...Object.entries(given), ...d.vars.map((k): [string, T] => [k, q[k]!])];
    const level = (name: string, x: T): Level => (name === 't' ? 'row' : ROW_VALUES.includes(name) ? 'elem' : tf.util.sizeFromShape(x.shape) === 1 ? 'scalar' : 'unit');
    // Views are taken when the loop runs: after every output is allocated.
    return { inputs: all.map(([name, x]) => ({ name, level: level(name, x) })), values: () => all.map(([, x]) => host.view(x)) };
  }
}
