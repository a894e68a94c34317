import { afterEach, describe, expect, it, vi } from 'vitest';
import { run, lastJson } from './run-cli.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('biflow bench ffjord-step', () => {
  it('times FFJORD iterations (rk4: 32 NFE, direct; dopri5: a backsolve pass) and prints ms_per_iter', async () => {
    const rk4 = await run(['bench', 'ffjord-step', '--batch', '16', '--hidden', '8', '--iters', '2', '--rounds', '1', '--warmup', '1', '--no-torch', '--backend', 'wasm', '--json']);
    expect(rk4.code).toBe(0);
    const a = lastJson(rk4.lines) as { ms_per_iter: number; ratio: number | null; rows: { nfe_forward: number; nfe_backward: number; ms_per_nfe: number; gradient: string; torch_skipped?: string }[] };
    expect(a.ms_per_iter).toBeGreaterThan(0);
    expect(a.ratio).toBeNull();
    expect(a.rows[0]).toMatchObject({ nfe_forward: 32, gradient: 'direct' });
    expect(a.rows[0]!.torch_skipped).toMatch(/no-torch/);
    const dopri = await run(['bench', 'ffjord-step', '--solver', 'dopri5', '--batch', '16,32', '--hidden', '8', '--iters', '1', '--rounds', '1', '--warmup', '0', '--no-torch', '--backend', 'wasm', '--json']);
    expect(dopri.code).toBe(0);
    const b = lastJson(dopri.lines) as { rows: { batch: number; nfe_forward: number; nfe_backward: number; gradient: string }[] };
    expect(b.rows.map((r) => r.batch)).toEqual([16, 32]);
    for (const r of b.rows) {
      expect(r.gradient).toBe('backsolve');
      expect(r.nfe_forward).toBeGreaterThan(0);
      expect(r.nfe_backward).toBeGreaterThan(0);
    }
  });

  it('rejects a batch size below 1 as a usage error (exit 2) with a message naming the flag', async () => {
    const r = await run(['bench', 'ffjord-step', '--batch', '0', '--no-torch', '--backend', 'wasm']);
    expect(r.code).toBe(2);
    const written = vi.mocked(process.stderr.write).mock.calls.map((c) => String(c[0])).join('');
    expect(written).toMatch(/--batch must be ≥ 1, got 0/);
  });
});
