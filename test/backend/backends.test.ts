import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DAWN_INSTALL, dawnUrl } from '../../src/backend/dawn.js';
import { backendInfo, useBackend, odeint, tf, BackendUnavailableError, InvalidArgumentError } from '../../src/index.js';
import { maxDiff } from '../tensor-helpers.js';

async function importable(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => {
  delete process.env.BIFLOW_BACKEND;
});

describe('backend selection', () => {
  it("'auto' skips what cannot run and says why; without tfjs-node or a hardware GPU it picks wasm", async () => {
    const info = await useBackend('auto');
    const hasNode = (await importable('@tensorflow/tfjs-node-gpu')) || (await importable('@tensorflow/tfjs-node'));
    const webgpuSkip = info.skipped.find((s) => s.name === 'webgpu');
    if (!hasNode && info.name !== 'webgpu') {
      expect(info.name).toBe('wasm');
      expect(info.skipped.map((s) => s.name)).toEqual(['tfjs-node-gpu', 'tfjs-node', 'webgpu']);
      expect(webgpuSkip!.reason).toMatch(/software adapter|no adapter|navigator|Vulkan|adapter/i);
    }
    expect(backendInfo().name).toBe(info.name);
    expect(tf.getBackend()).toBe(info.tfBackend);
    // Dawn was asked in a child process: passing over its adapter loaded nothing here (so its
    // native messages never reached this process's stderr).
    if (info.name !== 'webgpu') expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
  });

  it("names the missing 'webgpu' package (an optional peer) and the command that installs it", () => {
    const elsewhere = pathToFileURL(path.join(mkdtempSync(path.join(os.tmpdir(), 'biflow-nodawn-')), 'x.js')).href;
    expect(() => dawnUrl(elsewhere)).toThrow(/^the 'webgpu' package \(Dawn\) is not installed$/);
    expect(dawnUrl()).toMatch(/^file:.*\/node_modules\/webgpu\/index\.js$/);
    expect(DAWN_INSTALL).toMatch(/^npm install webgpu\b/);
  });

  it('forces cpu, and BIFLOW_BACKEND overrides auto', async () => {
    expect((await useBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    process.env.BIFLOW_BACKEND = 'wasm';
    expect((await useBackend()).name).toBe('wasm');
    delete process.env.BIFLOW_BACKEND;
  });

  it('names an unknown backend and lists the valid ones', async () => {
    await expect(useBackend('cuda' as never)).rejects.toThrow(InvalidArgumentError);
    await expect(useBackend('cuda' as never)).rejects.toThrow(/useBackend: name is not a backend, got "cuda"\. Use one of: auto, wasm, cpu, webgpu, tfjs-node, tfjs-node-gpu/);
  });

  it('explains why tfjs-node cannot load and what to install', async () => {
    if (await importable('@tensorflow/tfjs-node')) return; // it can load here: nothing to explain
    const err = await useBackend('tfjs-node').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/backend 'tfjs-node' is not available: .*npm install @tensorflow\/tfjs-node/);
    await useBackend('wasm');
  });
});

describe('WebGPU through Dawn', () => {
  it('gives the wasm result to float32 tolerance on a fixed-step tensor solve (skips without an adapter)', async (ctx) => {
    await useBackend('wasm');
    const A = [[-0.4, 1.5], [-1.5, -0.4]];
    const run = () => {
      const At = tf.tensor2d(A);
      const sol = odeint((_t, y) => tf.matMul(y, At, false, true), tf.tensor2d([[1, 0], [0.3, -0.2]]), [0, 1], { method: 'rk4', stepSize: 0.05 });
      return sol.ys[1] as tf.Tensor;
    };
    const reference = await run().data();
    let info;
    try {
      info = await useBackend('webgpu');
    } catch (e) {
      console.warn(`WebGPU test skipped: ${(e as Error).message}`);
      ctx.skip();
      return;
    }
    const onGpu = await run().data();
    expect(info.adapter).not.toBeNull();
    expect(maxDiff(onGpu, reference)).toBeLessThan(1e-5);
    await useBackend('wasm');
  }, 120_000);
});
