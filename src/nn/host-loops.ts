/**
 * Expressions (symbolic.ts) as host loops over a [B, n] grid — a row r per sample, a column j
 * per unit — for the fused ops on wasm, where a kernel call per operation on [B, n] tensors costs
 * more than the arithmetic. A loop is generated as JS source once per layout (its inputs' and
 * outputs' levels) and cached, so it runs as fast as one written by hand for that layer kind:
 * each node once per element, nodes that read only a row's inputs (t) once per row. Where code
 * generation is unavailable (a page whose Content-Security-Policy forbids `new Function`:
 * {@link generatesLoops}), the fused ops take their kernel paths; the same loop interpreted in
 * float64 ({@link NUMBER_ARITH}) remains for any other caller.
 */
import type { Arith } from './activation-defs.js';
import { NUMBER_ARITH } from './activation-defs.js';
import { evaluate } from './symbolic.js';
import type { Expr } from './symbolic.js';

/**
 * How a value lies on the grid: one number, one per row ([B]), one per unit ([n]) or one per
 * element ([B, n], row-major).
 */
export type Level = 'scalar' | 'row' | 'unit' | 'elem';

/** An output: `elem` is stored, `unit` is the sum over rows, `scalar` over all, `row` over units added to the buffer. */
export interface LoopOutput {
  expr: Expr;
  level: Level;
}

/** Runs a loop on a [B, n] grid: inputs and outputs in the order of the layout. */
export type HostLoop = (B: number, n: number, inputs: readonly ArrayLike<number>[], outputs: readonly Float32Array[]) => void;

/** JS source (float64, as {@link NUMBER_ARITH} computes). */
export const JS_ARITH: Arith<string> = {
  add: (a, b) => `(${a} + ${b})`,
  sub: (a, b) => `(${a} - ${b})`,
  mul: (a, b) => `(${a} * ${b})`,
  minimum: (a, b) => `Math.min(${a}, ${b})`,
  sigmoid: (a) => `(1 / (1 + Math.exp(-${a})))`,
  softplus: (a) => `(${a} > 30 ? ${a} : Math.log1p(Math.exp(${a})))`,
  elu: (a) => `(${a} > 0 ? ${a} : Math.expm1(${a}))`,
  exp: (a) => `Math.exp(${a})`,
  step: (a) => `(${a} > 0 ? 1 : 0)`,
};

const join = (a: Level, b: Level): Level => (a === b || b === 'scalar' ? a : a === 'scalar' ? b : 'elem');

/** Index of an input of `level` at row r, unit j, element k. */
const INDEX: Record<Level, string> = { scalar: '0', row: 'r', unit: 'j', elem: 'k' };

/** The loop's JS source: one statement per node, placed in the outermost loop its inputs allow. */
function source(inputs: readonly { name: string; level: Level }[], outputs: readonly LoopOutput[]): string {
  const levels = new Map<Expr, Level>();
  const names = new Map<Expr, string>();
  const code: Record<Level, string[]> = { scalar: [], row: [], unit: [], elem: [] };
  const ref = (e: Expr): string => {
    if (e.kind === 'const') return `${e.value}`;
    const known = names.get(e);
    if (known) return known;
    let level: Level;
    let rhs: string;
    if (e.kind === 'var') {
      const i = inputs.findIndex((x) => x.name === e.name);
      if (i < 0) throw new Error(`hostLoop: no input for the variable '${e.name}'`);
      level = inputs[i]!.level;
      rhs = `I${i}[${INDEX[level]}]`;
    } else {
      const args = e.args.map(ref);
      level = e.args.reduce<Level>((l, a) => join(l, levels.get(a) ?? 'scalar'), 'scalar');
      rhs = (JS_ARITH[e.op] as (...v: string[]) => string)(...args);
    }
    const name = `n${e.id}`;
    // A per-unit value is read in the element loop (recomputed per row: no [n] scratch array).
    code[level === 'unit' ? 'elem' : level].push(`const ${name} = ${rhs};`);
    levels.set(e, level);
    names.set(e, name);
    return name;
  };
  const store: string[] = [];
  const rowEnd: string[] = [];
  const init: string[] = [];
  const done: string[] = [];
  outputs.forEach(({ expr, level }, o) => {
    const v = ref(expr);
    if (level === 'elem') store.push(`O${o}[k] = ${v};`);
    else if (level === 'unit') {
      init.push(`const A${o} = new Float64Array(n);`);
      store.push(`A${o}[j] += ${v};`);
      done.push(`O${o}.set(A${o});`);
    } else if (level === 'scalar') {
      init.push(`let A${o} = 0;`);
      store.push(`A${o} += ${v};`);
      done.push(`O${o}[0] = A${o};`);
    } else {
      code.row.push(`let R${o} = 0;`);
      store.push(`R${o} += ${v};`);
      rowEnd.push(`O${o}[r] += R${o};`);
    }
  });
  return [
    `const [${inputs.map((_, i) => `I${i}`).join(', ')}] = ins;`,
    `const [${outputs.map((_, o) => `O${o}`).join(', ')}] = outs;`,
    ...init,
    ...code.scalar,
    'for (let r = 0, k = 0; r < B; r++) {',
    ...code.row,
    'for (let j = 0; j < n; j++, k++) {',
    ...code.elem,
    ...store,
    '}',
    ...rowEnd,
    '}',
    ...done,
  ].join('\n');
}

/** The same loop interpreted (no code generation): each element's expressions through {@link NUMBER_ARITH}. */
function interpreted(inputs: readonly { name: string; level: Level }[], outputs: readonly LoopOutput[]): HostLoop {
  const exprs = outputs.map((o) => o.expr);
  return (B, n, ins, outs) => {
    const acc = outputs.map(({ level }) => new Float64Array(level === 'unit' ? n : 1));
    const env: Record<string, number> = {};
    for (let r = 0, k = 0; r < B; r++) {
      const rowAcc = new Float64Array(outputs.length);
      for (let j = 0; j < n; j++, k++) {
        inputs.forEach(({ name, level }, i) => (env[name] = ins[i]![{ scalar: 0, row: r, unit: j, elem: k }[level]]!));
        evaluate(exprs, NUMBER_ARITH, env).forEach((v, o) => {
          const level = outputs[o]!.level;
          if (level === 'elem') outs[o]![k] = v as number;
          else if (level === 'row') rowAcc[o] += v as number;
          else acc[o]![level === 'unit' ? j : 0] += v as number;
        });
      }
      outputs.forEach(({ level }, o) => {
        if (level === 'row') outs[o]![r] += rowAcc[o]!;
      });
    }
    outputs.forEach(({ level }, o) => {
      if (level === 'unit' || level === 'scalar') outs[o]!.set(acc[o]!);
    });
  };
}

const cache = new Map<string, HostLoop>();
let generates: boolean | undefined;

/**
 * Whether loops are generated here: false where a Content-Security-Policy forbids `new
 * Function`. Callers with a kernel path take it then (faster than an interpreted loop).
 */
export function generatesLoops(): boolean {
  if (generates === undefined) {
    try {
      generates = new Function('return 1')() === 1;
    } catch {
      generates = false;
    }
  }
  return generates;
}

/**
 * The loop computing `outputs` from `inputs` (named as the expressions' variables), generated
 * once per layout (expression nodes are unique, so their ids and the levels name it); `generate:
 * false` interprets instead (what runs where `new Function` is forbidden).
 */
export function hostLoop(inputs: readonly { name: string; level: Level }[], outputs: readonly LoopOutput[], generate = true): HostLoop {
  if (!generate) return interpreted(inputs, outputs);
  const key = `${inputs.map((x) => `${x.name}:${x.level}`).join(',')}|${outputs.map((o) => `${o.expr.id}:${o.level}`).join(',')}`;
  let loop = cache.get(key);
  if (!loop) {
    try {
      loop = new Function('B', 'n', 'ins', 'outs', source(inputs, outputs)) as HostLoop;
    } catch {
      loop = interpreted(inputs, outputs);
    }
    cache.set(key, loop);
  }
  return loop;
}
