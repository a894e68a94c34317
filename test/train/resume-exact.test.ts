import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, loadFlow, saveFlow, useBackend } from '../../src/index.js';
import type { Flow, FlowConfig } from '../../src/index.js';
import { writeFolderAtomically } from '../../src/biflow/io.js';
import { loadDataset } from '../../src/data/index.js';
import { train } from '../../src/train/index.js';

beforeAll(async () => {
  await useBackend('wasm');
});
const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cnf = (trace: 'exact' | 'hutchinson') => ({ method: 'rk4' as const, stepSize: 0.25, trace, gradient: 'direct' as const });
/** Every model type at a tiny size; the CNF ones under both training estimators. */
const CASES: [string, FlowConfig][] = [
  ['nice', { type: 'nice', dim: 2, hidden: [4], layers: 2, seed: 3 }],
  ['realnvp', { type: 'realnvp', dim: 2, hidden: [4], layers: 2, seed: 3 }],
  ['glow', { type: 'glow', dim: 2, hidden: [4], layers: 2, seed: 3 }],
  ['nsf', { type: 'nsf', dim: 2, hidden: [4], layers: 2, seed: 3 }],
  ['ffjord exact', { type: 'ffjord', dim: 2, hidden: [4], seed: 3, cnf: cnf('exact') }],
  ['ffjord hutchinson', { type: 'ffjord', dim: 2, hidden: [4], seed: 3, cnf: cnf('hutchinson') }],
  ['biflow exact', { type: 'biflow', dim: 2, hidden: [4], cnfHidden: [4], seed: 3, blocks: ['actnorm', 'cnf', 'lu', 'spline', 'cnf'], cnf: cnf('exact') }],
  ['biflow hutchinson', { type: 'biflow', dim: 2, hidden: [4], cnfHidden: [4], seed: 3, blocks: ['actnorm', 'cnf', 'lu', 'spline', 'cnf'], cnf: cnf('hutchinson') }],
];

const weights = (flow: Flow) => flow.trainableVariables.map((v) => v.dataSync() as Float32Array);

describe('resuming a run', () => {
  const data = loadDataset('8gaussians', { seed: 4 });
  const opts = { batch: 16, lr: 1e-2, weightDecay: 1e-3, progress: 'none' as const, logEvery: 5 };
  const TOTAL = 28;
  // 25 is one of the iterations where tfjs's Adam.setWeights rebuilt β^k one ulp off the running product.
  it.each(CASES)('%s: stopped at 25 and resumed from disk, ends bit for bit where the uninterrupted run ends', async (_, config) => {
    const straight = createFlow(config);
    await train(straight, data, { iters: TOTAL, ...opts }, writeFolderAtomically);
    const dir = path.join(root, _.replace(' ', '-'));
    const first = createFlow(config);
    await train(first, data, { iters: 25, ...opts, checkpointDir: dir, saveModel: (d) => saveFlow(first, d) }, writeFolderAtomically);
    first.dispose();
    const resumed = await loadFlow(path.join(dir, 'model'));
    await train(resumed, data, { iters: TOTAL, ...opts, resumeFrom: dir, checkpointDir: dir, saveModel: (d) => saveFlow(resumed, d) }, writeFolderAtomically);
    const [a, b] = [weights(straight), weights(resumed)];
    expect(b.length).toBe(a.length);
    a.forEach((w, i) => expect(b[i], `variable ${i}`).toEqual(w));
    straight.dispose();
    resumed.dispose();
  });

  // The iterations the issue found off with tfjs's Adam, for a discrete flow and a Hutchinson CNF.
  it.each([CASES[0]!, CASES[5]!])('%s: resumed from iterations 50, 55, 95 and 160, ends bit for bit where the uninterrupted run ends', async (name, config) => {
    const total = 165;
    const opts = { batch: 8, lr: 1e-2, weightDecay: 1e-3, progress: 'none' as const, logEvery: 5 };
    const straight = createFlow(config);
    const full = await train(straight, data, { iters: total, ...opts }, writeFolderAtomically);
    for (const k of [50, 55, 95, 160]) {
      const dir = path.join(root, `${name.replace(' ', '-')}-${k}`);
      const first = createFlow(config);
      await train(first, data, { iters: k, ...opts, checkpointDir: dir, saveModel: (d) => saveFlow(first, d) }, writeFolderAtomically);
      first.dispose();
      const resumed = await loadFlow(dir); // the run folder itself: loadFlow finds its model/
      const rest = await train(resumed, data, { iters: total, ...opts, resumeFrom: dir, checkpointDir: dir, saveModel: (d) => saveFlow(resumed, d) }, writeFolderAtomically);
      expect(rest.history.map((h) => h.loss), `resumed at ${k}`).toEqual(full.history.map((h) => h.loss));
      weights(straight).forEach((w, i) => expect(weights(resumed)[i], `resumed at ${k}, variable ${i}`).toEqual(w));
      resumed.dispose();
    }
    straight.dispose();
  });
});
