import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNF, createFlow, leafBlocks, loadFlow, ModelFileError, OutputPathError, saveFlow, tf, train, useBackend } from '../../src/index.js';
import { loadDataset } from '../../src/data/index.js';

beforeAll(async () => {
  await useBackend('wasm');
});
const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-io-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(root, `case-${n++}`);
const tiny = () => createFlow({ type: 'nice', dim: 2, hidden: [4], layers: 2, seed: 1 });

describe('saveFlow replaces only a previous save', () => {
  it('refuses a folder with other files and a regular file, leaving them as they were', async () => {
    const flow = tiny();
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'thesis.tex'), 'chapter 1');
    const err = await saveFlow(flow, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputPathError);
    expect((err as Error).message).toMatch(/^saveFlow: .*case-\d+ holds files saveFlow did not write \(thesis\.tex\); nothing was written\. Save into a new or empty folder/);
    expect(readdirSync(dir)).toEqual(['thesis.tex']);
    const notes = `${fresh()}.txt`;
    writeFileSync(notes, 'my notes');
    await expect(saveFlow(flow, notes)).rejects.toThrow(/case-\d+\.txt is a file, not a model folder; nothing was written/);
    expect(readFileSync(notes, 'utf8')).toBe('my notes');
    expect(readdirSync(root).filter((f) => /\.(tmp|old)-/.test(f))).toEqual([]);
    flow.dispose();
  });

  it('replaces a previous save without asking, but not one a file was added to', async () => {
    const flow = tiny();
    const dir = fresh();
    await saveFlow(flow, dir);
    await saveFlow(flow, dir);
    expect(readdirSync(dir).sort()).toEqual(['flow.json', 'weights.bin']);
    writeFileSync(path.join(dir, 'README.md'), 'about this model');
    await expect(saveFlow(flow, dir)).rejects.toThrow(/holds a saved flow but also files saveFlow did not write \(README\.md\)/);
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('about this model');
    const empty = fresh();
    mkdirSync(empty);
    await saveFlow(flow, empty);
    (await loadFlow(empty)).dispose();
    flow.dispose();
  });
});

describe('loadFlow', () => {
  it('reads a training run folder (its model/) as well as a saveFlow folder', async () => {
    const flow = tiny();
    const dir = fresh();
    await train(flow, loadDataset('moons'), { iters: 2, batch: 8, progress: 'none', checkpointDir: dir, saveModel: (d) => saveFlow(flow, d) });
    const [a, b] = [await loadFlow(dir), await loadFlow(path.join(dir, 'model'))];
    a.trainableVariables.forEach((v, i) => expect(v.dataSync()).toEqual(b.trainableVariables[i]!.dataSync()));
    [a, b, flow].forEach((f) => f.dispose());
    await expect(loadFlow(fresh())).rejects.toThrow(/flow\.json: cannot be read \(ENOENT\): .* holds no model, nor does its model\//);
  });

  it("keeps each CNF block's probe counter, so a loaded Hutchinson CNF draws the probes the saved one would next", async () => {
    const config = { type: 'biflow' as const, dim: 2, hidden: [4], cnfHidden: [4], blocks: ['cnf', 'lu', 'cnf'] as const, cnf: { trace: 'hutchinson' as const, method: 'rk4' as const, stepSize: 0.5 } };
    const flow = createFlow({ ...config, blocks: [...config.blocks] });
    const x = tf.randomNormal([6, 2], 0, 1, 'float32', 2) as tf.Tensor2D;
    for (let k = 0; k < 3; k++) tf.dispose(flow.loss(x));
    const dir = fresh();
    await saveFlow(flow, dir);
    const back = await loadFlow(dir);
    const states = (f: typeof flow) => leafBlocks(f.bijector).filter((b): b is CNF => b instanceof CNF).map((c) => c.probeState);
    expect(states(back)).toEqual(states(flow));
    expect(states(flow).every((s) => s > 0)).toBe(true);
    // The next training loss — a Hutchinson estimate — is the same number from both.
    expect(flow.loss(x).dataSync()[0]).toBe(back.loss(x).dataSync()[0]);
    tf.dispose(x);
    flow.dispose();
    back.dispose();
  });

  it('refuses a corrupt probe state with a ModelFileError, building nothing', async () => {
    const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [4] });
    const dir = fresh();
    await saveFlow(flow, dir);
    flow.dispose();
    const file = path.join(dir, 'flow.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/"probeStates": \[\s*\d+\s*\]/, '"probeStates": ["abc"]'));
    const before = tf.memory().numTensors;
    const err = await loadFlow(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as Error).message).toMatch(/flow\.json: has probeStates \["abc"\], not a list of non-negative integers/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
