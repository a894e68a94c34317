/**
 * `biflow compare` and `biflow tolerance` on WebGPU (Dawn; on CI Mesa lavapipe,
 * `XDG_RUNTIME_DIR=/tmp`), against the same runs on wasm. Tiny on purpose. Skips without an adapter.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { lastJson, run } from './run-cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'biflow-webgpu-harness-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await useBackend('wasm');
});

async function webgpuOrSkip(ctx: { skip(): void }): Promise<boolean> {
  try {
    await useBackend('webgpu');
    return true;
  } catch (e) {
    console.warn(`WebGPU harness test skipped: ${(e as Error).message}`);
    ctx.skip();
    return false;
  }
}

type Row = Record<string, number | string | null>;

describe('biflow compare and tolerance on --backend webgpu', () => {
  it('compare trains ffjord and realnvp there, with the numbers wasm gives', async (ctx) => {
    if (!(await webgpuOrSkip(ctx))) return;
    const args = (backend: string) => ['compare', '--data', 'moons', '--models', 'ffjord,realnvp', '--iters', '2', '--batch', '32', '--test-rows', '40', '--samples', '40', '--grid', '6', '--out', path.join(dir, `compare-${backend}`), '--backend', backend, '--json'];
    const gpu = await run(args('webgpu'));
    expect(gpu.code).toBe(0);
    const wasm = await run(args('wasm'));
    expect(wasm.code).toBe(0);
    const [g, w] = [gpu, wasm].map((r) => (lastJson(r.lines) as { rows: Row[] }).rows);
    expect(g!.map((r) => r.model)).toEqual(['ffjord', 'realnvp']);
    g!.forEach((row, i) => {
      const ref = w![i]!;
      for (const key of ['testNll', 'energyInverse'] as const) {
        expect(Number.isFinite(row[key]), key).toBe(true);
        // Same seeds, same data; float32 round-off on a different device (two training steps).
        expect(Math.abs((row[key] as number) - (ref[key] as number)), `${row.model} ${key}`).toBeLessThan(1e-2 * Math.max(1, Math.abs(ref[key] as number)));
      }
      expect(row.params).toBe(ref.params);
    });
  }, 120_000);

  it('tolerance sweeps a trained ffjord there: the float64 reference and the rows match wasm', async (ctx) => {
    if (!(await webgpuOrSkip(ctx))) return;
    const model = path.join(dir, 'ffjord');
    const t = await run(['train', '--data', 'moons', '--model', 'ffjord', '--iters', '2', '--batch', '32', '--hidden', '8', '--out', model, '--backend', 'wasm', '--json']);
    expect(t.code).toBe(0);
    const args = (backend: string) => ['tolerance', '--model', path.join(model, 'model'), '--data', 'moons', '--tols', '1e-3,1e-5', '--solvers', 'dopri5,rk4', '--steps', '4', '--points', '20', '--reference-tol', '1e-8', '--no-problems', '--out', path.join(dir, `tol-${backend}`), '--backend', backend, '--json'];
    const gpu = await run(args('webgpu'));
    expect(gpu.code).toBe(0);
    const wasm = await run(args('wasm'));
    expect(wasm.code).toBe(0);
    type Sweep = { reference: { nll: number }; rows: Row[] };
    const [g, w] = [gpu, wasm].map((r) => lastJson(r.lines) as unknown as Sweep);
    // The reference is float64 on the host from the same weights: equal.
    expect(g!.reference.nll).toBeCloseTo(w!.reference.nll, 9);
    expect(g!.rows.map((r) => [r.solver, r.tol, r.steps])).toEqual(w!.rows.map((r) => [r.solver, r.tol, r.steps]));
    g!.rows.forEach((row, i) => {
      const ref = w!.rows[i]!;
      expect(Math.abs((row.nll as number) - (ref.nll as number)), `${row.solver} nll`).toBeLessThan(1e-4);
      if (row.solver === 'rk4') expect(row.nfe).toBe(ref.nfe);
    });
  }, 120_000);

  it('train --model biflow trains the one-pass generator there (trainGenerator), its alignment terms as on wasm', async (ctx) => {
    if (!(await webgpuOrSkip(ctx))) return;
    const args = (backend: string) => ['train', '--data', '8gaussians', '--model', 'biflow', '--blocks', 'actnorm,cnf,spline', '--hidden', '8', '--cnf-hidden', '8',
      '--iters', '2', '--generator-iters', '2', '--interior', '1', '--batch', '32', '--out', path.join(dir, `biflow-${backend}`), '--backend', backend, '--json'];
    const gpu = await run(args('webgpu'));
    expect(gpu.code).toBe(0);
    const wasm = await run(args('wasm'));
    expect(wasm.code).toBe(0);
    type Trained = { generator: { iters: number; align: number; reconstruction: number } };
    const [g, w] = [gpu, wasm].map((r) => (lastJson(r.lines) as unknown as Trained).generator);
    expect(g!.iters).toBe(2);
    for (const key of ['align', 'reconstruction'] as const) {
      expect(Number.isFinite(g![key]), key).toBe(true);
      expect(Math.abs(g![key] - w![key]), key).toBeLessThan(1e-2 * Math.max(1, Math.abs(w![key])));
    }
  }, 120_000);
});
