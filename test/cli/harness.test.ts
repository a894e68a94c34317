import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lastJson, run } from './run-cli.js';
import { COMPARE_COLUMNS } from '../../src/biflow/index.js';

afterEach(() => vi.restoreAllMocks());

const tmp = (name: string) => path.join(mkdtempSync(path.join(os.tmpdir(), 'biflow-harness-')), name);

describe('biflow compare', () => {
  it('trains all five model types on a tiny budget and writes JSON, markdown and a PNG grid with every column', async () => {
    const out = tmp('compare');
    const { code, lines } = await run(['compare', '--data', '8gaussians', '--iters', '2', '--test-rows', '100', '--samples', '100', '--grid', '12', '--out', out, '--backend', 'wasm', '--json']);
    expect(code).toBe(0);
    const result = lastJson(lines) as { rows: Record<string, unknown>[]; files: string[] };
    expect(result.rows.map((r) => r.model)).toEqual(['ffjord', 'realnvp', 'glow', 'nsf', 'biflow']);
    for (const row of result.rows) {
      expect(Object.keys(row).sort()).toEqual([...COMPARE_COLUMNS].sort());
      expect(Number.isFinite(row.testNll)).toBe(true);
      expect(row.params as number).toBeGreaterThan(0);
      expect(row.energyInverse as number).toBeGreaterThan(0);
    }
    const biflow = result.rows.at(-1)!;
    expect(biflow.sampleSecondsGenerator as number).toBeGreaterThan(0);
    expect(biflow.nfeForward as number).toBeGreaterThan(0);
    expect(result.rows[1]!.nfeForward).toBeNull();
    const png = readFileSync(path.join(out, 'compare.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(path.join(out, 'compare.md'), 'utf8')).toContain('| biflow |');
    expect(JSON.parse(readFileSync(path.join(out, 'compare.json'), 'utf8')).rows).toHaveLength(5);
  }, 120_000);

  it('rejects an unknown model name as a usage error (exit 2) with a message naming the flag', async () => {
    const { code } = await run(['compare', '--data', '8gaussians', '--models', 'realnvp,maf']);
    expect(code).toBe(2);
    const written = vi.mocked(process.stderr.write).mock.calls.map((c) => String(c[0])).join('');
    expect(written).toMatch(/biflow: --models must name one of nice, .*, got "maf"\./);
  });
});

describe('biflow train --model biflow, sample --via generator, tolerance', () => {
  it('trains a mixed stack and its generator, samples both ways, then sweeps solver tolerances with every column', async () => {
    const dir = tmp('run');
    const t = await run(['train', '--data', '8gaussians', '--model', 'biflow', '--blocks', 'actnorm,cnf,spline', '--hidden', '8', '--cnf-hidden', '8',
      '--iters', '3', '--generator-iters', '3', '--interior', '1', '--batch', '32', '--out', dir, '--backend', 'wasm', '--json']);
    expect(t.code).toBe(0);
    const trained = lastJson(t.lines) as { generator: { iters: number }; blocks: { kind: string }[] };
    expect(trained.generator.iters).toBe(3);
    expect(trained.blocks.map((b) => b.kind)).toEqual(['actnorm', 'cnf', 'spline']);

    const csv = tmp('gen.csv');
    const s = await run(['sample', '--model', dir, '--n', '5', '--via', 'generator', '--out', csv, '--json']);
    expect(s.code).toBe(0);
    expect(readFileSync(csv, 'utf8').trim().split('\n')).toHaveLength(5);

    const out = tmp('tol');
    const r = await run(['tolerance', '--model', dir, '--data', '8gaussians', '--tols', '1e-3,1e-5', '--solvers', 'dopri5,rk4', '--steps', '2,4', '--points', '40', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const res = lastJson(r.lines) as { reference: { precision: string; nll: number }; rows: Record<string, unknown>[]; problems: Record<string, unknown>[]; files: string[] };
    expect(res.reference.precision).toBe('float64');
    expect(res.rows).toHaveLength(4);
    for (const row of res.rows) expect(Object.keys(row).sort()).toEqual(['nfe', 'nll', 'nllError', 'pointError', 'seconds', 'solver', 'steps', 'tol']);
    expect(new Set(res.problems.map((p) => p.problem)).size).toBe(4);
    for (const f of res.files) expect(existsSync(f), f).toBe(true);
    expect(res.files.some((f) => f.endsWith('problems.png'))).toBe(true);
  }, 120_000);

  it('tolerance on a model without a CNF block fails with a typed message', async () => {
    const dir = tmp('nsf');
    expect((await run(['train', '--data', '8gaussians', '--model', 'nsf', '--iters', '1', '--hidden', '4', '--layers', '1', '--out', dir, '--json'])).code).toBe(0);
    const { code } = await run(['tolerance', '--model', dir, '--data', '8gaussians', '--no-problems', '--out', tmp('x')]);
    expect(code).toBe(1);
  });
});
