/**
 * The map from a layer's effective-weight gradients to its variables' on WebGPU: one flat program
 * per variable, printed from the kind's derivatives (layer-derivs.ts) through `WGSL_ARITH`, that
 * reads the summed [W̄_e; b̄_e] (layer-program.ts's `runLayerGrad`), W, b and the time variables:
 *   W:    dW = dW_e⊙S (the time row of `timeRow` kinds: the gradient of `wt` per unit);
 *   b, and each time variable per unit (summed over units for one per layer): its expression over
 *         t, b, S, dbe = b̄_e and dWW = Σ_i dW_e,ij·W_ij, both read in place, S from the kind's scale.
 * So the scale S, W⊙S and the variable map of `effective` / `layerGrads` cost no kernels of their
 * own: a layer's gradients are as many programs as it has variables.
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

const UNIFORMS = 't : f32, nU : i32, nI : i32,';

/** WGSL adding expression `e` at unit `j` to `acc`: the names it reads bound first (dWW by a loop over W's rows only where read). */
function unitTerm(s: LayerSpec, e: Expr): string {
  const names = variablesOf(e);
  const { reads } = timeVars(s, false);
  const n = s.n;
  const env: Record<string, string> = { t: 'uniforms.t', b: 'Bv[j]', S: 'S', dbe: 'dbe', dWW: 'dWW' };
  for (const k of LAYER_DERIVS[s.kind].vars) env[k] = `q_${k}`;
  const code = evaluate([e], WGSL_ARITH, env)[0]!;
  return `${reads('j')}
          let dbe = R[${s.nIn * n} + j];
          ${names.has('S') ? 'let S = scaleOf(j);' : ''}
          var dWW = 0.0;
          ${names.has('dWW') ? `for (var i = 0; i < uniforms.nI; i = i + 1) { dWW = dWW + R[i * ${n} + j] * Wm[i * ${n} + j]; }` : ''}
          acc = acc + f32(${code});`;
}

/**
 * The gradients of a layer's variables [W, b, ...extras] from R = [W̄_e; b̄_e] ([nIn + 1, n]) at
 * time t, in the variables' order and shapes: one program each.
 */
export function runLayerVarGrads(r: KernelRunner, s: LayerSpec, p: readonly T[], t: number, R: T): T[] {
  const def = LAYER_DEFS[s.kind];
  const d = LAYER_DERIVS[s.kind];
  const { nIn, n } = s;
  const [W, b, ...extras] = p as [T, T, ...T[]];
  const names = ['R', 'Wm', 'Bv', ...def.extras.map((_, i) => `Q${i}`)];
  const inputs = [R, W, b, ...extras];
  const { scaleFn } = timeVars(s, false);
  // nU and nI as uniforms: loops over units or rows with a constant trip count are unrolled (slowly, by lavapipe).
  const uniforms = [{ type: 'float32', data: [t] }, { type: 'int32', data: [n] }, { type: 'int32', data: [nIn] }];
  const run = (shape: number[], threads: number, body: string): T => {
    const prelude = body.includes('scaleOf(') ? scaleFn : '';
    // Only the inputs the shader reads are bound (an unread binding is dropped from the pipeline's layout).
    const used = names.flatMap((name, i) => (new RegExp(`\\b${name}\\[`).test(prelude + body) ? [i] : []));
    const program = new FlatProgram(used.map((i) => names[i]!), shape, threads, body, UNIFORMS, prelude);
    return r.program(program, used.map((i) => inputs[i]!), [{ type: 'int32', data: [threads] }, ...uniforms])!;
  };
  // W: dW_e⊙S, then W's time row (timeRow kinds) as its variable `wt`.
  const wBody = `let i = index / ${n};
          let j = index % ${n};
          var acc = 0.0;
          if (i < ${nIn}) {
            acc = R[index]${def.scale ? ' * scaleOf(j)' : ''};
          } else {
            ${def.timeRow ? unitTerm(s, d.grads.wt!) : ''}
          }
          setOutputAtIndex(index, acc);`;
  const gW = run(W.shape, W.shape[0]! * n, wBody);
  // b and the kind's time variables: per unit, or one for the layer summed over its units.
  const perUnit = (e: Expr, x: T): T => {
    const size = x.shape.reduce((a, v) => a * v, 1);
    const [from, to] = size === 1 ? ['0', 'uniforms.nU'] : ['index', 'index + 1'];
    const body = `var acc = 0.0;
          for (var j = ${from}; j < ${to}; j = j + 1) {
          ${unitTerm(s, e)}
          }
          setOutputAtIndex(index, acc);`;
    return run(x.shape, size, body);
  };
  return [gW, perUnit(d.grads.b!, b), ...def.extras.map((k, i) => perUnit(d.grads[k]!, extras[i]!))];
}
