/**
 * The CLI as a separate process writes nothing foreign on stderr: no Dawn messages from probing
 * WebGPU (Vulkan loader warnings, limit adjustments), no tfjs "install our node backend" banner —
 * only its own line naming the backend that runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const tsx = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;

/** Runs `biflow …` in a child process; its exit status and stderr lines. */
function biflow(args: string[]): { status: number | null; stdout: string; stderr: string[] } {
  const r = spawnSync(process.execPath, ['--import', tsx, path.join(root, 'src/cli/main.ts'), ...args], { encoding: 'utf8', env: { ...process.env, BIFLOW_BACKEND: '' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => l.trim() !== '') };
}

const model = path.join(mkdtempSync(path.join(os.tmpdir(), 'biflow-quiet-')), 'run');

beforeAll(() => {
  const t = biflow(['train', '--data', '8gaussians', '--model', 'nice', '--iters', '2', '--batch', '16', '--hidden', '4', '--layers', '2', '--out', model, '--backend', 'wasm', '--json']);
  expect(t.status, t.stderr.join('\n')).toBe(0);
}, 120_000);

describe('biflow on stderr', () => {
  it('--help and methods print nothing on stderr', () => {
    for (const args of [['--help'], ['methods']]) {
      const r = biflow(args);
      expect(r.status).toBe(0);
      expect(r.stderr, args.join(' ')).toEqual([]);
    }
  }, 60_000);

  it("eval on the default backend prints one line of its own: which backend runs (Dawn's probe stays in its child)", () => {
    const r = biflow(['eval', '--model', model, '--data', '8gaussians']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^test NLL /);
    expect(r.stderr).toHaveLength(1);
    expect(r.stderr[0]).toMatch(/^biflow: backend (wasm|webgpu|tfjs-node|tfjs-node-gpu)\b/);
  }, 60_000);

  it('eval --verbose says why auto passed over each backend before it, on the same one line', () => {
    const r = biflow(['eval', '--model', model, '--data', '8gaussians', '--verbose']);
    expect(r.status).toBe(0);
    expect(r.stderr).toHaveLength(1);
    if (/backend wasm/.test(r.stderr[0]!)) expect(r.stderr[0]).toMatch(/auto passed over tfjs-node-gpu: .+; tfjs-node: .+; webgpu: .+/);
  }, 60_000);

  it('eval --backend cpu prints no tfjs banner', () => {
    const r = biflow(['eval', '--model', model, '--data', '8gaussians', '--backend', 'cpu']);
    expect(r.status).toBe(0);
    expect(r.stderr).toEqual(['biflow: backend cpu']);
  }, 60_000);
});
