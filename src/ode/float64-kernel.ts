/**
 * Fused float64 Runge–Kutta steps, generated once per tableau.
 *
 * The generic step forms each stage with a loop over the tableau's coefficients; for the small
 * states of scientific ODEs (2–10 components) that bookkeeping costs more than the arithmetic.
 * Here each stage becomes one straight loop with the coefficients as literals and zero terms
 * dropped, the error estimate and its RMS norm fused into the last loop — what one would write
 * by hand for dopri5, but for any tableau. Where code generation is unavailable (a page whose
 * Content-Security-Policy forbids `new Function`), `compileStep` returns null and the solver
 * uses the generic step.
 */
import type { ButcherTableau } from './tableau.js';

/**
 * Advances y by h. Stage i calls `f(tᵢ, state, ks[i])`; if f returns an array instead of filling
 * its third argument, `store(result, i, tᵢ)` copies (and checks) it. Returns the RMS error ratio
 * for scalar tolerances, or −1 after writing the raw error into `err` (the caller then applies
 * the general norm), or 0 for methods without an error estimate.
 */
export type FusedStep = (
  f: (t: number, y: Float64Array, out: Float64Array) => unknown,
  store: (result: unknown, i: number, t: number) => void,
  t: number,
  y: Float64Array,
  h: number,
  ks: readonly Float64Array[],
  stage: Float64Array,
  y1: Float64Array,
  err: Float64Array,
  rtol: number,
  atol: number,
  fuseNorm: boolean,
) => number;

const cache = new WeakMap<ButcherTableau, FusedStep | null>();

/** `Σⱼ cⱼ·kⱼ[m]` as source text, zero terms dropped, or null if every coefficient is zero. */
function sum(coeffs: ArrayLike<number>, count: number): string | null {
  const terms: string[] = [];
  for (let j = 0; j < count; j++) {
    const c = coeffs[j]!;
    if (c !== 0) terms.push(`${c === 1 ? '' : `${repr(c)} * `}k${j}[m]`);
  }
  return terms.length ? terms.join(' + ') : null;
}

/** A literal that parses back to exactly the same double. */
function repr(x: number): string {
  return x < 0 ? `(${String(x)})` : String(x);
}

function source(t: ButcherTableau): string {
  const { a, b, c, e, stages: s, fsal } = t;
  const lines: string[] = ['const n = y.length;'];
  for (let i = 0; i < s; i++) lines.push(`const k${i} = ks[${i}];`);
  lines.push('const t1 = t + h;');
  for (let i = 1; i < s; i++) {
    const lastFsal = fsal && i === s - 1;
    const target = lastFsal ? 'y1' : 'stage';
    const expr = sum(lastFsal ? b : a[i]!, i);
    lines.push(`for (let m = 0; m < n; m++) ${target}[m] = ${expr ? `y[m] + h * (${expr})` : 'y[m]'};`);
    const ti = c[i] === 1 ? 't1' : `t + ${repr(c[i]!)} * h`;
    lines.push(`{ const ti = ${ti}; const r = f(ti, ${target}, k${i}); if (r !== undefined && r !== k${i}) store(r, ${i}, ti); }`);
  }
  if (!fsal) {
    const expr = sum(b, s);
    lines.push(`for (let m = 0; m < n; m++) y1[m] = ${expr ? `y[m] + h * (${expr})` : 'y[m]'};`);
  }
  if (!e) {
    lines.push('return 0;');
  } else {
    const expr = sum(e, s) ?? '0';
    lines.push(
      'if (fuseNorm) {',
      '  let acc = 0;',
      '  for (let m = 0; m < n; m++) {',
      '    const ay = Math.abs(y[m]); const ay1 = Math.abs(y1[m]);',
      `    const q = (h * (${expr})) / (atol + rtol * (ay > ay1 ? ay : ay1));`,
      '    acc += q * q;',
      '  }',
      '  return Math.sqrt(acc / n);',
      '}',
      `for (let m = 0; m < n; m++) err[m] = h * (${expr});`,
      'return -1;',
    );
  }
  return lines.join('\n');
}

/** The fused step for a tableau (cached), or null where `new Function` is not allowed. */
export function compileStep(tableau: ButcherTableau): FusedStep | null {
  if (cache.has(tableau)) return cache.get(tableau)!;
  let step: FusedStep | null;
  try {
    step = new Function('f', 'store', 't', 'y', 'h', 'ks', 'stage', 'y1', 'err', 'rtol', 'atol', 'fuseNorm', source(tableau)) as FusedStep;
  } catch {
    step = null;
  }
  cache.set(tableau, step);
  return step;
}
