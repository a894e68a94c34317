import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi, afterEach } from 'vitest';
import { main } from '../../src/cli/main.js';
import { lastJson, run } from './run-cli.js';
import { orbitTable } from '../../examples/orbit.js';

afterEach(() => vi.restoreAllMocks());


describe('biflow CLI', () => {
  it('lists the methods as one JSON object on the last line', async () => {
    const { code, lines } = await run(['methods', '--json']);
    expect(code).toBe(0);
    const out = lastJson(lines) as { methods: { name: string; order: number; kind: string; stiff: boolean }[] };
    expect(out.methods.map((m) => m.name)).toEqual(['euler', 'midpoint', 'heun', 'rk4', 'bosh3', 'dopri5', 'tsit5', 'dopri8', 'rodas5', 'rodas5p', 'kvaerno5', 'auto']);
    expect(out.methods.filter((m) => m.stiff).map((m) => [m.name, m.kind, m.order])).toEqual([['rodas5', 'rosenbrock', 5], ['rodas5p', 'rosenbrock', 5], ['kvaerno5', 'esdirk', 5], ['auto', 'auto', 5]]);
  });

  it('lists the stiff methods in the plain-text table', async () => {
    const { code, lines } = await run(['methods']);
    expect(code).toBe(0);
    expect(lines.find((l) => l.startsWith('rodas5'))).toMatch(/order 5\(4\)\s+stages {2}8 .*dense order 4 .*stiff: rosenbrock/);
    expect(lines.find((l) => l.startsWith('kvaerno5'))).toMatch(/order 5\(4\)\s+stages {2}7 FSAL .*dense order 4 .*stiff: esdirk, float64 and tensor states/);
    expect(lines.find((l) => l.startsWith('auto'))).toMatch(/stiff: tsit5 → rodas5 when stiff, float64 and tensor states$/);
  });

  it('rejects an unknown command with exit status 2', async () => {
    expect((await run(['trian'])).code).toBe(2);
  });

  it('trains, evaluates, samples and plots end to end on a tiny budget', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'biflow-cli-')), 'run');
    const t = await run(['train', '--data', '8gaussians', '--model', 'nsf', '--iters', '20', '--batch', '64', '--hidden', '16', '--layers', '2', '--out', dir, '--backend', 'wasm', '--json']);
    expect(t.code).toBe(0);
    const trained = lastJson(t.lines);
    expect(trained.command).toBe('train');
    expect(trained.iters).toBe(20);
    expect(Number.isFinite(trained.testNll)).toBe(true);
    expect(trained.backend).toBe('wasm');
    const e = await run(['eval', '--model', dir, '--data', '8gaussians', '--backend', 'wasm', '--json']);
    expect(lastJson(e.lines).testNll).toBeCloseTo(trained.testNll as number, 4);
    const csv = path.join(dir, 'samples.csv');
    expect((await run(['sample', '--model', dir, '--n', '7', '--out', csv, '--backend', 'wasm', '--json'])).code).toBe(0);
    expect(readFileSync(csv, 'utf8').trim().split('\n')).toHaveLength(7);
    const scatter = path.join(dir, 'samples.svg');
    expect((await run(['sample', '--model', dir, '--n', '50', '--out', scatter, '--backend', 'wasm'])).code).toBe(0);
    expect(readFileSync(scatter, 'utf8').match(/<circle /g)!.length).toBeGreaterThan(0);
    const png = path.join(dir, 'density.png');
    expect((await run(['plot', '--model', dir, '--out', png, '--grid', '20', '--backend', 'wasm'])).code).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  });

  it('trains and evaluates an FFJORD model (CNF) through the same commands', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'biflow-cli-')), 'ffjord');
    const t = await run(['train', '--data', 'moons', '--model', 'ffjord', '--iters', '4', '--batch', '32', '--hidden', '8,8', '--out', dir, '--backend', 'wasm', '--json']);
    expect(t.code).toBe(0);
    expect(lastJson(t.lines).model).toBe('ffjord');
    const e = await run(['eval', '--model', dir, '--data', 'moons', '--backend', 'wasm', '--json']);
    expect(lastJson(e.lines).testNll).toBeCloseTo(lastJson(t.lines).testNll as number, 3);
    expect(lastJson(e.lines).nfe).toBeGreaterThan(0);
    const png = path.join(dir, 'trajectory.png');
    expect((await run(['plot', '--model', dir, '--trajectory', 'moons', '--out', png, '--backend', 'wasm'])).code).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  });

  it('refuses to evaluate a model on data of another dimension', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-cli-'));
    const dir = path.join(root, 'run');
    expect((await run(['train', '--data', 'moons', '--model', 'nice', '--iters', '2', '--hidden', '8', '--layers', '2', '--out', dir, '--backend', 'cpu', '--json'])).code).toBe(0);
    const csv = path.join(root, 'three.csv');
    writeFileSync(csv, Array.from({ length: 20 }, (_, i) => `${i},${i + 1},${i + 2}`).join('\n'));
    const errors: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (errors.push(String(s)), true));
    expect(await main(['eval', '--model', dir, '--data', csv, '--backend', 'cpu'], () => {})).toBe(1);
    expect(errors.join('')).toMatch(/the model has dim 2 but .*three\.csv has 3 columns/);
  });

  it('names bad inputs: an unknown dataset, a missing model folder', async () => {
    const errors: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (errors.push(String(s)), true));
    expect(await main(['train', '--data', 'spiralz', '--out', path.join(os.tmpdir(), 'x'), '--backend', 'cpu'], () => {})).toBe(1);
    expect(errors.join('')).toMatch(/loadDataset: data is neither a toy dataset \(swissroll, 8gaussians.*\) nor a \.csv\/\.npy file, got "spiralz"/);
    expect(await main(['eval', '--model', path.join(os.tmpdir(), 'no-such-model'), '--data', '8gaussians', '--backend', 'cpu'], () => {})).toBe(1);
    expect(errors.join('')).toMatch(/holds no model/);
  });

  it('runs as a script through tsx', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--version'], { encoding: 'utf8' });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(existsSync('src/cli/main.ts')).toBe(true);
  });
});

describe('the orbit demo', () => {
  it('closes the Arenstorf orbit more tightly as the tolerance tightens', () => {
    const rows = orbitTable(['dopri5', 'dopri8'], [1e-6, 1e-10]);
    for (const method of ['dopri5', 'dopri8']) {
      const [loose, tight] = rows.filter((r) => r.method === method);
      expect(tight!.error).toBeLessThan(loose!.error / 100);
      expect(tight!.nfe).toBeGreaterThan(loose!.nfe);
    }
  });
});
