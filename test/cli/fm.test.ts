import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run, lastJson } from './run-cli.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const stderr = () => vi.mocked(process.stderr.write).mock.calls.map((c) => String(c[0])).join('');

describe('biflow train --objective', () => {
  it('trains an ffjord model by cfm and ot-cfm, logs the exact held-out NLL every --eval-every iterations, and the model evaluates and samples', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'biflow-cli-fm-'));
    try {
      for (const objective of ['cfm', 'ot-cfm']) {
        const out = path.join(dir, objective);
        const r = await run(['train', '--data', '8gaussians', '--model', 'ffjord', '--hidden', '16,16', '--iters', '20', '--batch', '64', '--objective', objective, '--sigma', '0.05', '--eval-every', '10', '--out', out, '--backend', 'wasm', '--json']);
        expect(r.code).toBe(0);
        const j = lastJson(r.lines) as { objective: string; evals: { iter: number; testNll: number }[]; testNll: number; iters: number };
        expect(j.objective).toBe(objective);
        expect(j.iters).toBe(20);
        expect(j.evals.map((e) => e.iter)).toEqual([10, 20]);
        // The last evaluation is the final model's exact NLL, as the end-of-run figure is.
        expect(j.evals.at(-1)!.testNll).toBeCloseTo(j.testNll, 4);
        const e = await run(['eval', '--model', out, '--data', '8gaussians', '--backend', 'wasm', '--json']);
        expect((lastJson(e.lines) as { testNll: number }).testNll).toBeCloseTo(j.testNll, 4);
        const s = await run(['sample', '--model', out, '--n', '10', '--out', path.join(dir, `${objective}.csv`), '--backend', 'wasm', '--json']);
        expect(s.code).toBe(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses flow matching on a discrete flow, an unknown objective and a negative sigma, naming the option', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'biflow-cli-fm-'));
    try {
      const base = ['train', '--data', '8gaussians', '--iters', '2', '--out', path.join(dir, 'x'), '--backend', 'wasm'];
      expect((await run([...base, '--model', 'realnvp', '--objective', 'cfm'])).code).toBe(1);
      expect(stderr()).toMatch(/train: objective needs a flow with a CNF block .* this 'realnvp' flow has none/);
      expect((await run([...base, '--model', 'ffjord', '--objective', 'fm'])).code).toBe(2);
      expect(stderr()).toMatch(/--objective.*'fm' is invalid/);
      expect((await run([...base, '--model', 'ffjord', '--objective', 'cfm', '--sigma', '-1'])).code).toBe(1);
      expect(stderr()).toMatch(/train: sigma must be a finite number ≥ 0, got -1/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('biflow compare --objectives', () => {
  it('adds a row per flow-matching objective for the ffjord model, with the objective column and no training NFE', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'biflow-cli-fm-'));
    try {
      const r = await run(['compare', '--data', '8gaussians', '--models', 'ffjord,realnvp', '--objectives', 'ml,ot-cfm', '--iters', '3', '--batch', '32', '--test-rows', '200', '--samples', '50', '--grid', '8', '--out', dir, '--backend', 'wasm', '--json']);
      expect(r.code).toBe(0);
      const rows = (lastJson(r.lines) as { rows: { model: string; objective: string; nfeForward: number | null; testNll: number }[] }).rows;
      expect(rows.map((x) => [x.model, x.objective])).toEqual([['ffjord', 'ml'], ['ffjord', 'ot-cfm'], ['realnvp', 'ml']]);
      expect(rows[0]!.nfeForward).toBeGreaterThan(0);
      expect(rows[1]!.nfeForward).toBeNull();
      rows.forEach((x) => expect(Number.isFinite(x.testNll)).toBe(true));
      expect((await run(['compare', '--data', '8gaussians', '--models', 'realnvp', '--objectives', 'cfm', '--iters', '1', '--out', dir, '--backend', 'wasm'])).code).toBe(1);
      expect(stderr()).toMatch(/compare: objectives trains only 'ffjord' by flow matching/);
      expect((await run(['compare', '--data', '8gaussians', '--objectives', 'fm', '--out', dir, '--backend', 'wasm'])).code).toBe(2); // a usage error
      expect(stderr()).toMatch(/--objectives must name one of ml, cfm, ot-cfm, got "fm"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('biflow bench fm-step', () => {
  it('times I-CFM and OT-CFM iterations and prints ms_per_iter (and the assignment time for OT-CFM)', async () => {
    const r = await run(['bench', 'fm-step', '--batch', '32', '--hidden', '8', '--pairs', '3', '--warmup', '1', '--no-torch', '--backend', 'wasm', '--json']);
    expect(r.code).toBe(0);
    const j = lastJson(r.lines) as { ms_per_iter: number; ratio: number | null; rows: { objective: string; ms_per_iter: number; ms_assign: number | null; torch_skipped?: string }[] };
    expect(j.ms_per_iter).toBeGreaterThan(0);
    expect(j.ratio).toBeNull();
    expect(j.rows.map((x) => x.objective)).toEqual(['cfm', 'ot-cfm']);
    expect(j.rows[0]!.ms_assign).toBeNull();
    expect(j.rows[1]!.ms_assign).toBeGreaterThan(0);
    expect(j.rows[0]!.torch_skipped).toMatch(/no-torch/);
  });
});
