import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFlow, loadFlow, saveFlow, useBackend, tf } from '../../src/index.js';
import { writeFolderAtomically } from '../../src/biflow/io.js';
import { loadDataset } from '../../src/data/index.js';
import { train } from '../../src/train/index.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const quiet = { progress: 'none' as const, logEvery: 5 };

describe('train', () => {
  it('gives the same loss curve for the same seed', async () => {
    const curve = async () => {
      const flow = createFlow({ type: 'realnvp', dim: 2, hidden: [16], layers: 2, seed: 1 });
      const r = await train(flow, loadDataset('moons', { seed: 1 }), { iters: 20, batch: 32, lr: 5e-3, ...quiet }, writeFolderAtomically);
      flow.dispose();
      return r.history.map((h) => h.loss);
    };
    const a = await curve();
    expect(a).toHaveLength(4);
    expect(await curve()).toEqual(a);
  });

  it('resuming from a checkpoint continues the same run exactly', async () => {
    const data = loadDataset('8gaussians', { seed: 2 });
    const opts = { batch: 32, lr: 5e-3, ...quiet };
    const straight = createFlow({ type: 'glow', dim: 2, hidden: [16], layers: 2, seed: 2 });
    const full = await train(straight, data, { iters: 20, ...opts }, writeFolderAtomically);

    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'biflow-train-')), 'run');
    const first = createFlow({ type: 'glow', dim: 2, hidden: [16], layers: 2, seed: 2 });
    await train(first, data, { iters: 10, ...opts, checkpointDir: dir, saveModel: (d) => saveFlow(first, d) }, writeFolderAtomically);
    first.dispose();
    const resumed = await loadFlow(path.join(dir, 'model'));
    const rest = await train(resumed, data, { iters: 20, ...opts, resumeFrom: dir }, writeFolderAtomically);
    expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
    const x = tf.tensor2d(data.test.subarray(0, 20), [10, 2]);
    expect(Array.from(resumed.logProb(x).dataSync())).toEqual(Array.from(straight.logProb(x).dataSync()));
    tf.dispose(x);
    straight.dispose();
    resumed.dispose();
  });

  it('writes checkpoints atomically: no temporary folders left, the folder always complete', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-ckpt-'));
    const dir = path.join(root, 'run');
    const flow = createFlow({ type: 'nice', dim: 2, hidden: [8], layers: 2 });
    await train(flow, loadDataset('circles'), { iters: 12, batch: 16, checkpointEvery: 4, checkpointDir: dir, saveModel: (d) => saveFlow(flow, d), ...quiet }, writeFolderAtomically);
    expect(readdirSync(root)).toEqual(['run']);
    expect(['model', 'optimizer.bin', 'train.json'].every((f) => existsSync(path.join(dir, f)))).toBe(true);
    flow.dispose();
  });

  it('a failed save leaves the previous checkpoint intact', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-ckpt-'));
    const dir = path.join(root, 'run');
    const flow = createFlow({ type: 'nice', dim: 2, hidden: [8], layers: 2 });
    await saveFlow(flow, dir);
    await expect(writeFolderAtomically(dir, async () => {
      throw new Error('disk full');
    })).rejects.toThrow('disk full');
    expect(readdirSync(root)).toEqual(['run']);
    (await loadFlow(dir)).dispose();
    flow.dispose();
  });

  it('rejects bad options by name', async () => {
    const flow = createFlow({ type: 'nice', dim: 2, hidden: [8], layers: 2 });
    await expect(train(flow, loadDataset('moons'), { iters: 0 }, writeFolderAtomically)).rejects.toThrow(/train: iters must be a positive integer, got 0/);
    await expect(train(flow, loadDataset('moons'), { iters: 5, lr: -1 }, writeFolderAtomically)).rejects.toThrow(/lr must be a positive number/);
    flow.dispose();
  });
});
