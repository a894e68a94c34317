/**
 * The map from a layer's effective-weight gradients to its variables' on WebGPU: one flat program
 * per layer, printed from the kind's derivatives (layer-derivs.ts) through `WGSL_ARITH`, that sums
 * the weight-gradient partials [W̄_e; b̄_e] of every row chunk itself (made by layer-program.ts's
 * `runLayerBackward`: no separate chunk sum, so a large batch costs no more dispatches than a
 * small one), reads W, b and the time variables, and writes every variable's gradient into one packed
 * output [W̄ | b̄ | extras…], which `KernelRunner.parts` hands out as tensors by buffer copies:
 *   W:    dW = dW_e⊙S (the time row of `timeRow` kinds: the gradient of `wt` per unit);
 *   b, and each time variable per unit (summed over units for one per layer): its expression over
 *         t, b, S, dbe = b̄_e and dWW = Σ_i dW_e,ij·W_ij, both read in place, S from the kind's scale.
 * So the scale S, W⊙S, the chunk sum and the variable map of `effective` / `layerGrads` cost no
 * kernels of their own: a layer's gradients are one program.
 */
import type { tf } from '../backend/engine.js';
import type { KernelRunner } from '../backend/kernels.js';
import { FlatProgram } from '../backend/webgpu-elementwise.js';
import { WGSL_ARITH } from './activation-defs.js';
import { LAYER_DEFS } from './layer-defs.js';
import { LAYER_DERIVS } from './layer-derivs.js';
import type { LayerSpec } from './layer-program.js';
import { timeVars } from './layer-program.js';
import { evaluate, variablesOf } from './symbolic.js';
import type { Expr } from './symbolic.js';

type T = tf.TensorInfo;

const UNIFORMS = 't : f32, nU : i32, nI : i32, chunks : i32, rOff : i32,';

/** WGSL adding expression `e` at unit `j` to `acc`: the names it reads bound first (dWW by a loop over W's rows only where read). */
function unitTerm(s: LayerSpec, e: Expr): string {
  const names = variablesOf(e);
  const { reads } = timeVars(s, false);
  const n = s.n;
  const env: Record<string, string> = { t: 'uniforms.t', b: 'Bv[j]', S: 'S', dbe: 'dbe', dWW: 'dWW' };
  for (const k of LAYER_DERIVS[s.kind].vars) env[k] = `q_${k}`;
  const code = evaluate([e], WGSL_ARITH, env)[0]!;
  return `${reads('j')}
          let dbe = rSum(${s.nIn * n} + j);
          ${names.has('S') ? 'let S = scaleOf(j);' : ''}
          var dWW = 0.0;
          ${names.has('dWW') ? `for (var i = 0; i < uniforms.nI; i = i + 1) { dWW = dWW + rSum(i * ${n} + j) * Wm[i * ${n} + j]; }` : ''}
          acc = acc + f32(${code});`;
}

/**
 * The gradients of a layer's variables [W, b, ...extras] at time t, in the variables' order and
 * shapes, from R: `chunks` partial sums of [W̄_e; b̄_e] ([nIn + 1, n] each) from element `rOff` of
 * its buffer on. One program, its packed output split by buffer copies.
 */
export function runLayerVarGrads(r: KernelRunner, s: LayerSpec, p: readonly T[], t: number, R: T, chunks: number, rOff = 0): T[] {
  const def = LAYER_DEFS[s.kind];
  const d = LAYER_DERIVS[s.kind];
  const { nIn, n } = s;
  const [W, b, ...extras] = p as [T, T, ...T[]];
  const names = ['R', 'Wm', 'Bv', ...def.extras.map((_, i) => `Q${i}`)];
  const inputs = [R, W, b, ...extras];
  const { scaleFn } = timeVars(s, false);
  const sizes = p.map((x) => x.shape.reduce((a, v) => a * v, 1));
  // Each part of the packed output: the threads from its offset on.
  let offset = sizes[0]!;
  const part = (e: Expr, size: number): string => {
    // A variable per unit: its thread's unit; one for the layer: the sum over the units.
    const units = size === 1 ? 'for (var j = 0; j < uniforms.nU; j = j + 1) {' : `{
          let j = index - ${offset};`;
    return `} else if (index < ${(offset += size)}) {
          ${units}
          ${unitTerm(s, e)}
          }`;
  };
  // W: dW_e⊙S, then W's time row (timeRow kinds) as its variable `wt`; then b and the kind's time variables.
  const body = `var acc = 0.0;
          if (index < ${sizes[0]}) {
            let i = index / ${n};
            let j = index % ${n};
            if (i < ${nIn}) {
              acc = rSum(index)${def.scale ? ' * scaleOf(j)' : ''};
            } else {
              ${def.timeRow ? unitTerm(s, d.grads.wt!) : ''}
            }
          ${part(d.grads.b!, sizes[1]!)}
          ${def.extras.map((k, i) => part(d.grads[k]!, sizes[2 + i]!)).join('\n          ')}
          }
          setOutputAtIndex(index, acc);`;
  // The sum over the chunks' partials; their count a uniform (a loop of constant trip count is unrolled, slowly, by lavapipe).
  const rSum = `fn rSum(i : i32) -> f32 {
        var v = 0.0;
        for (var c = 0; c < uniforms.chunks; c = c + 1) { v = v + R[uniforms.rOff + c * ${(nIn + 1) * n} + i]; }
        return v;
      }`;
  const prelude = `${rSum}\n      ${body.includes('scaleOf(') ? scaleFn : ''}`;
  // Only the inputs the shader reads are bound (an unread binding is dropped from the pipeline's layout).
  const used = names.flatMap((name, i) => (new RegExp(`\\b${name}\\[`).test(prelude + body) ? [i] : []));
  const total = offset;
  const program = new FlatProgram(used.map((i) => names[i]!), [total], total, body, UNIFORMS, prelude);
  // nU and nI as uniforms too: loops over units or rows with a constant trip count are unrolled.
  const uniforms = [{ type: 'int32', data: [total] }, { type: 'float32', data: [t] }, ...[n, nIn, chunks, rOff].map((v) => ({ type: 'int32', data: [v] }))];
  const packed = r.program(program, used.map((i) => inputs[i]!), uniforms)!;
  return r.parts(packed, p.map((x) => x.shape));
}
