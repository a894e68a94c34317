import { afterEach, describe, expect, it, vi } from 'vitest';
import { run, lastJson } from './run-cli.js';

type Row = { model: string; batch: number; fused: boolean; ms_per_iter: number; zuko_ms_per_iter: number | null; ratio: number | null; kernels: { engine: number; runner: number }; nll?: { iters: number; biflow: number; zuko: number | null }; zuko_skipped?: string };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('biflow bench flow-step', () => {
  it('times a discrete-flow iteration and counts its kernels: the fused couplings run far fewer engine kernels than the taped ones', async () => {
    const args = ['bench', 'flow-step', '--model', 'nsf', '--batch', '32', '--pairs', '2', '--warmup', '1', '--no-torch', '--backend', 'wasm', '--json'];
    const fused = await run(args);
    const taped = await run([...args, '--taped']);
    expect([fused.code, taped.code]).toEqual([0, 0]);
    const [a, b] = [lastJson(fused.lines), lastJson(taped.lines)] as { ms_per_iter: number; rows: Row[] }[];
    expect(a!.ms_per_iter).toBeGreaterThan(0);
    expect(a!.rows[0]).toMatchObject({ model: 'nsf', batch: 32, fused: true, ratio: null });
    expect(a!.rows[0]!.zuko_skipped).toMatch(/no-torch/);
    expect(b!.rows[0]!.fused).toBe(false);
    // Taped, an NSF iteration was ~3000 engine kernels (loss, gradient and Adam); fused, ~300.
    expect(a!.rows[0]!.kernels.engine * 5).toBeLessThan(b!.rows[0]!.kernels.engine);
    expect(a!.rows[0]!.kernels.runner).toBeGreaterThan(0);
  });

  it('against zuko: both sides train on the same batches and report their test NLL after the same iterations', async () => {
    const r = await run(['bench', 'flow-step', '--model', 'realnvp', '--batch', '64', '--pairs', '2', '--warmup', '1', '--nll-iters', '20', '--backend', 'wasm', '--json']);
    expect(r.code).toBe(0);
    const row = (lastJson(r.lines) as { rows: Row[] }).rows[0]!;
    expect(row.nll!.iters).toBe(20);
    expect(Number.isFinite(row.nll!.biflow)).toBe(true);
    if (row.zuko_skipped) return expect(row.zuko_skipped).toMatch(/python|torch|zuko|reference/i); // a machine without the reference
    expect(row.zuko_ms_per_iter).toBeGreaterThan(0);
    expect(row.ratio).toBeGreaterThan(0);
    // 20 Adam steps from near-identity flows on moons: both near the standard normal's NLL of moons.
    expect(Math.abs(row.nll!.biflow - row.nll!.zuko!)).toBeLessThan(0.5);
  }, 120_000);

  it('rejects a model it does not know and a batch below 1 as usage errors (exit 2)', async () => {
    const bad = await run(['bench', 'flow-step', '--model', 'maf', '--no-torch', '--backend', 'wasm']);
    expect(bad.code).toBe(2);
    const zero = await run(['bench', 'flow-step', '--batch', '0', '--no-torch', '--backend', 'wasm']);
    expect(zero.code).toBe(2);
    const written = vi.mocked(process.stderr.write).mock.calls.map((c) => String(c[0])).join('');
    expect(written).toMatch(/--batch must be ≥ 1, got 0/);
  });
});
