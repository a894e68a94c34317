import { describe, expect, it } from 'vitest';
import { NUMBER_ARITH } from '../../src/nn/activation-defs.js';
import { hostLoop, JS_ARITH } from '../../src/nn/host-loops.js';
import type { Level } from '../../src/nn/host-loops.js';
import { LAYER_DERIVS } from '../../src/nn/layer-derivs.js';
import { constant, derivative, evaluate, SYMBOLIC as O, substitute, variable } from '../../src/nn/symbolic.js';
import type { UnaryOp } from '../../src/nn/symbolic.js';

const [x, y] = [variable('x'), variable('y')];
const UNARY: UnaryOp[] = ['sigmoid', 'softplus', 'elu', 'exp', 'step'];

describe('symbolic arithmetic', () => {
  it('builds one node per expression and simplifies as it builds: constants fold, x + 0, x·1, x·0, x − x', () => {
    expect(O.add(x, y)).toBe(O.add(y, x));
    expect(O.mul(O.sigmoid(x), y)).toBe(O.mul(y, O.sigmoid(x)));
    expect(O.sub(x, y)).not.toBe(O.sub(y, x));
    expect(O.add(O.mul(2, 3), 1)).toBe(constant(7));
    expect(O.sigmoid(constant(0))).toBe(constant(0.5));
    expect([O.add(x, 0), O.sub(x, 0), O.mul(1, x), O.mul(x, 0), O.sub(x, x)]).toEqual([x, x, x, constant(0), constant(0)]);
  });

  it.each(UNARY)('∂ %s(x·y)/∂x equals a central difference (float64)', (op) => {
    const e = O[op](O.mul(x, y));
    const d = derivative(e, 'x');
    for (const [a, b] of [[0.7, -1.3], [-0.4, 0.9], [2.1, 1.6]] as const) {
      const f = (v: number) => evaluate([e], NUMBER_ARITH, { x: v, y: b })[0] as number;
      const fd = (f(a + 1e-6) - f(a - 1e-6)) / 2e-6;
      expect(evaluate([d], NUMBER_ARITH, { x: a, y: b })[0] as number).toBeCloseTo(fd, 7);
    }
    expect(derivative(O.minimum(x, y), 'x')).toBe(O.step(O.sub(y, x)));
  });

  it('substitutes a subexpression, and evaluation folds numbers and refuses a missing variable', () => {
    const s = O.sigmoid(O.mul(x, 2));
    expect(substitute(derivative(s, 'x'), s, variable('S'))).toBe(O.mul(O.mul(variable('S'), O.sub(1, variable('S'))), 2));
    expect(evaluate([O.add(x, O.exp(y))], NUMBER_ARITH, { x: 1, y: 0 })).toEqual([2]);
    expect(() => evaluate([x], NUMBER_ARITH, {})).toThrow(/no value for the variable 'x'/);
  });

  it('JS source computes what NUMBER_ARITH computes, across every branch (softplus above 30, elu and step below 0)', () => {
    for (const v of [-40, -3.5, -0.25, 0, 0.25, 2, 31, 50]) {
      for (const op of UNARY) expect(new Function('a', `return ${JS_ARITH[op](`a`)};`)(v), `${op}(${v})`).toBe(NUMBER_ARITH[op](v));
      expect(new Function('a', `return ${JS_ARITH.minimum('a', '1.5')};`)(v)).toBe(NUMBER_ARITH.minimum(v, 1.5));
    }
  });
});

describe('host loops', () => {
  // concatsquash's backward pass per row: every level of input and output at once.
  const d = LAYER_DERIVS.concatsquash;
  const inputs: { name: string; level: Level }[] = [
    { name: 't', level: 'row' }, { name: 'b', level: 'unit' }, { name: 'aBar', level: 'elem' }, { name: 'p', level: 'elem' },
    { name: 'S', level: 'elem' }, { name: 'wg', level: 'unit' }, { name: 'bg', level: 'scalar' }, { name: 'wb', level: 'unit' },
  ];
  const outputs = [
    { expr: d.rowGrads.b!, level: 'unit' as Level }, { expr: d.rowGrads.bg!, level: 'scalar' as Level },
    { expr: O.mul(variable('aBar'), variable('S')), level: 'elem' as Level }, { expr: d.rowGradT, level: 'row' as Level },
  ];
  const [B, n] = [3, 4];
  const fill = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
  const sizes: Record<Level, number> = { row: B, unit: n, elem: B * n, scalar: 1 };

  it('the generated loop, the interpreted one and a direct evaluation per element agree; row outputs add to the buffer', () => {
    const ins = inputs.map(({ level }, i) => fill(sizes[level], i + 1));
    const run = (generate: boolean) => {
      const outs = outputs.map(({ level }) => new Float32Array(sizes[level]).fill(level === 'row' ? 1 : Number.NaN));
      hostLoop(inputs, outputs, generate)(B, n, ins, outs);
      return outs.map((o) => Array.from(o));
    };
    const generated = run(true);
    expect(generated).toEqual(run(false));
    // By hand: per element (r, j), the env from the inputs' levels.
    const want = outputs.map(({ level }) => new Array<number>(sizes[level]).fill(level === 'row' ? 1 : 0));
    for (let r = 0; r < B; r++) {
      for (let j = 0; j < n; j++) {
        const at: Record<Level, number> = { row: r, unit: j, elem: r * n + j, scalar: 0 };
        const env = Object.fromEntries(inputs.map(({ name, level }, i) => [name, ins[i]![at[level]]!]));
        evaluate(outputs.map((o) => o.expr), NUMBER_ARITH, env).forEach((v, o) => (want[o]![at[outputs[o]!.level]] += v as number));
      }
    }
    generated.forEach((g, o) => g.forEach((v, i) => expect(v, `output ${o}[${i}]`).toBeCloseTo(want[o]![i]!, 5)));
  });
});

describe('host loops where code generation is forbidden (a Content-Security-Policy without unsafe-eval)', () => {
  it('generatesLoops() is false and hostLoop interprets, with the same results', async () => {
    const { vi } = await import('vitest');
    const d = LAYER_DERIVS.squash;
    const inputs: { name: string; level: Level }[] = [{ name: 't', level: 'row' }, { name: 'p', level: 'elem' }, { name: 'b', level: 'unit' }, { name: 'wg', level: 'unit' }, { name: 'bg', level: 'unit' }];
    const outputs = [{ expr: d.forward, level: 'elem' as Level }];
    const ins = [Float32Array.of(0.2, 0.9), Float32Array.of(1, -2, 0.5, 3), Float32Array.of(0.1, -0.3), Float32Array.of(0.7, 1.1), Float32Array.of(-0.4, 0.2)];
    const run = (loop: ReturnType<typeof hostLoop>) => {
      const out = new Float32Array(4);
      loop(2, 2, ins, [out]);
      return Array.from(out);
    };
    const want = run(hostLoop(inputs, outputs));
    vi.resetModules();
    const Original = globalThis.Function;
    vi.stubGlobal('Function', new Proxy(Original, { construct: () => { throw new EvalError('Refused to evaluate a string as JavaScript'); } }));
    try {
      const fresh = await import('../../src/nn/host-loops.js');
      expect(fresh.generatesLoops()).toBe(false);
      expect(run(fresh.hostLoop(inputs, outputs))).toEqual(want);
    } finally {
      vi.unstubAllGlobals();
    }
    expect(globalThis.Function).toBe(Original);
  });
});
