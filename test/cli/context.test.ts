/** The CLI's context path: train a conditional flow on named columns, eval it, sample it from one context or a file; usage errors exit 2. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { rng } from '../../src/data/random.js';
import { lastJson, run } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());
const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-cli-context-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// θ ~ U[−2, 2]², x = θ + 0.1·noise: columns theta1, theta2, x1, x2.
const r = rng('cli-context');
const rows = Array.from({ length: 300 }, () => {
  const t = [4 * r.uniform() - 2, 4 * r.uniform() - 2];
  return [...t, t[0]! + 0.1 * r.normal(), t[1]! + 0.1 * r.normal()];
});
const sims = path.join(root, 'sims.csv');
writeFileSync(sims, `theta1,theta2,x1,x2\n${rows.map((row) => row.join(',')).join('\n')}\n`);
const out = path.join(root, 'run');
const small = ['--model', 'realnvp', '--iters', '150', '--batch', '64', '--lr', '0.01', '--hidden', '16', '--layers', '4'];

describe('biflow train/eval/sample --context', () => {
  it('trains q(θ | x) on named columns; eval and indices agree; sample draws from one context or a file', async () => {
    const t = await run(['train', '--data', sims, '--context', 'x1,x2', ...small, '--out', out, '--json']);
    expect(t.code).toBe(0);
    const trained = lastJson(t.lines);
    expect(trained.contextDim).toBe(2);
    expect(trained.context).toEqual(['x1', 'x2']);
    expect(Number.isFinite(trained.testNll)).toBe(true);
    const model = path.join(out, 'model');
    const byName = lastJson((await run(['eval', '--model', model, '--data', sims, '--context', 'x1,x2', '--json'])).lines);
    const byIndex = lastJson((await run(['eval', '--model', model, '--data', sims, '--context', '2,3', '--json'])).lines);
    expect(byName.testNll).toBeCloseTo(trained.testNll as number, 5);
    expect(byIndex.testNll).toBeCloseTo(trained.testNll as number, 5);
    // The context conditions the samples: from x = (1.5, −1.5) they sit near θ = x, far from x = (−1.5, 1.5).
    const at = async (context: string) => {
      const file = path.join(root, `s${context}.csv`);
      expect((await run(['sample', '--model', model, '--context', context, '--n', '200', '--out', file])).code).toBe(0);
      const s = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
      expect(s).toHaveLength(200);
      return [0, 1].map((d) => s.reduce((a, row) => a + row[d]!, 0) / s.length);
    };
    const [a, b] = [await at('1.5,-1.5'), await at('-1.5,1.5')];
    expect(a[0]! - b[0]!).toBeGreaterThan(1);
    expect(b[1]! - a[1]!).toBeGreaterThan(1);
    const ctxFile = path.join(root, 'ctx.csv');
    writeFileSync(ctxFile, '0,0\n1,1\n-1,0.5\n');
    const each = path.join(root, 'each.csv');
    expect((await run(['sample', '--model', model, '--context-file', ctxFile, '--out', each])).code).toBe(0);
    expect(readFileSync(each, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('--autoregressive trains a conditional MAF (nsf): saved as such, eval reproduces the test NLL; on a flow type without it, a usage error', async () => {
    const maf = path.join(root, 'maf');
    const t = await run(['train', '--data', sims, '--context', 'x1,x2', '--model', 'nsf', '--autoregressive', '--iters', '150', '--batch', '64', '--lr', '0.01', '--hidden', '16', '--layers', '2', '--out', maf, '--json']);
    expect(t.code).toBe(0);
    const trained = lastJson(t.lines);
    expect(JSON.parse(readFileSync(path.join(maf, 'model', 'flow.json'), 'utf8')).config.autoregressive).toBe(true);
    const again = lastJson((await run(['eval', '--model', path.join(maf, 'model'), '--data', sims, '--context', 'x1,x2', '--json'])).lines);
    expect(again.testNll).toBeCloseTo(trained.testNll as number, 5);
    const bad = await run(['train', '--data', sims, '--model', 'glow', '--autoregressive', '--iters', '1', '--out', path.join(root, 'bad-maf')]);
    expect(bad.code).not.toBe(0);
    const said = vi.mocked(process.stderr.write).mock.calls.map((c) => String(c[0])).join('');
    expect(said).toMatch(/autoregressive/);
  });

  it('trains q(θ | x) by flow matching (--objective ot-cfm, ffjord): the test NLL is far below any unconditional model’s, and eval reproduces it', async () => {
    const fm = path.join(root, 'fm');
    const t = await run(['train', '--data', sims, '--context', 'x1,x2', '--model', 'ffjord', '--objective', 'ot-cfm', '--iters', '300', '--batch', '64', '--lr', '0.01', '--hidden', '32', '--out', fm, '--json']);
    expect(t.code).toBe(0);
    const trained = lastJson(t.lines);
    expect([trained.objective, trained.contextDim]).toEqual(['ot-cfm', 2]);
    // θ ~ U[−2, 2]²: no model of θ alone beats its entropy log 16 = 2.77 nats.
    expect(trained.testNll as number).toBeLessThan(Math.log(16) - 1.5);
    const evaluated = lastJson((await run(['eval', '--model', path.join(fm, 'model'), '--data', sims, '--context', 'x1,x2', '--json'])).lines);
    expect(evaluated.testNll).toBeCloseTo(trained.testNll as number, 4);
  });

  it('usage errors exit 2: missing, unwanted, wrong width, both forms, --context with a toy dataset', async () => {
    const model = path.join(out, 'model');
    const plain = path.join(root, 'plain');
    expect((await run(['train', '--data', sims, ...small, '--iters', '2', '--out', plain])).code).toBe(0);
    const cases: [string[], RegExp][] = [
      [['eval', '--model', model, '--data', sims], /--context is needed.*contextDim 2/],
      [['sample', '--model', model, '--out', path.join(root, 'x.csv')], /--context is needed/],
      [['sample', '--model', model, '--context', '1,2,3', '--out', path.join(root, 'x.csv')], /--context must have 2 numbers/],
      [['sample', '--model', model, '--context', '1,2', '--context-file', sims, '--out', path.join(root, 'x.csv')], /cannot go with --context-file/],
      [['sample', '--model', path.join(plain, 'model'), '--context', '1,2', '--out', path.join(root, 'x.csv')], /is for a conditional model/],
      [['plot', '--model', model, '--out', path.join(root, 'x.png')], /biflow plot: --context is needed/],
      [['train', '--data', 'moons', '--context', 'x1', '--out', path.join(root, 'toy')], /names columns of a \.csv\/\.npy --data file/],
      [['sample', '--model', model, '--context', '1,abc', '--out', path.join(root, 'x.csv')], /--context must be a finite number/],
    ];
    for (const [args, message] of cases) {
      const { code } = await run(args);
      expect(code, args.join(' ')).toBe(2);
      expect((process.stderr.write as unknown as { mock: { calls: unknown[][] } }).mock.calls.map((c) => String(c[0])).join('')).toMatch(message);
      vi.restoreAllMocks();
    }
  });

  it('an unknown context column is a data error naming the file and its columns (exit 1)', async () => {
    const { code } = await run(['train', '--data', sims, '--context', 'x9', ...small, '--out', path.join(root, 'bad')]);
    expect(code).toBe(1);
    expect((process.stderr.write as unknown as { mock: { calls: unknown[][] } }).mock.calls.map((c) => String(c[0])).join('')).toMatch(/has no column "x9" for the context.*theta1, theta2, x1, x2/);
  });
});
