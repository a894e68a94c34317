/**
 * The CLI on WebGPU (Dawn; on CI Mesa lavapipe, `XDG_RUNTIME_DIR=/tmp`): `train` trains the
 * default FFJORD (dopri5 + backsolve) through the async path, and `eval`, `sample`, `plot` run on
 * the saved model. Small on purpose (tiny net, few iterations). Skips without an adapter.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { lastJson, run } from './run-cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'biflow-webgpu-cli-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await useBackend('wasm');
});

describe('biflow on --backend webgpu', () => {
  it('trains ffjord (dopri5 + backsolve) for a few iterations, then eval, sample and plot run there', async (ctx) => {
    try {
      await useBackend('webgpu');
    } catch (e) {
      console.warn(`WebGPU CLI test skipped: ${(e as Error).message}`);
      ctx.skip();
      return;
    }
    const out = path.join(dir, 'run');
    const t = await run(['train', '--data', 'moons', '--model', 'ffjord', '--iters', '3', '--batch', '32', '--hidden', '8', '--out', out, '--backend', 'webgpu', '--json']);
    expect(t.code).toBe(0);
    const trained = lastJson(t.lines);
    expect(trained.iters).toBe(3);
    expect(Number.isFinite(trained.testNll as number)).toBe(true);
    expect(Number.isFinite(trained.loss as number)).toBe(true);
    const model = path.join(out, 'model');
    const e = await run(['eval', '--model', model, '--data', 'moons', '--backend', 'webgpu', '--json']);
    expect(e.code).toBe(0);
    expect(lastJson(e.lines).testNll).toBeCloseTo(trained.testNll as number, 3);
    const csv = path.join(dir, 's.csv');
    expect((await run(['sample', '--model', model, '--n', '20', '--out', csv, '--backend', 'webgpu', '--json'])).code).toBe(0);
    const rows = readFileSync(csv, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.length === 2 && r.every(Number.isFinite))).toBe(true);
    const svg = path.join(dir, 'p.svg');
    expect((await run(['plot', '--model', model, '--grid', '8', '--out', svg, '--backend', 'webgpu', '--json'])).code).toBe(0);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg/);
  }, 600_000);
});
