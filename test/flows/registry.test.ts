import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFlow, loadFlow, saveFlow, tf, useBackend, InvalidArgumentError, ModelFileError, FLOW_TYPES } from '../../src/index.js';
import { leaks } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const DISCRETE = ['nice', 'realnvp', 'glow', 'nsf', 'ffjord'] as const;

describe('createFlow', () => {
  it.each(DISCRETE)('%s: needs only type and dim, and gives finite log-likelihoods of shape [N] and samples of shape [n, D]', (type) => {
    const flow = createFlow({ type, dim: 3 });
    const x = tf.randomNormal([7, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    flow.bijector.initialize?.(x);
    const lp = flow.logProb(x);
    expect(lp.shape).toEqual([7]);
    expect(Array.from(lp.dataSync()).every(Number.isFinite)).toBe(true);
    const s = flow.sample(5, { seed: 3 });
    expect(s.shape).toEqual([5, 3]);
    const again = flow.sample(5, { seed: 3 });
    expect(Array.from(again.dataSync())).toEqual(Array.from(s.dataSync()));
    const { x: xs, logProb } = flow.sampleAndLogProb(4, { seed: 2 });
    const check = flow.logProb(xs);
    expect(Math.max(...Array.from(tf.abs(tf.sub(check, logProb)).dataSync()))).toBeLessThan(1e-3);
    expect(leaks(() => tf.dispose([flow.logProb(x), flow.sample(3, { seed: 1 })]))).toEqual([0, 0, 0]);
    tf.dispose([x, lp, s, again, xs, logProb, check]);
    flow.dispose();
  });

  it('is reproducible with the default seed 0 (tfjs reads seed 0 as "unseeded"; biflow does not)', () => {
    for (const type of DISCRETE) {
      const a = createFlow({ type, dim: 2, hidden: [8] });
      const b = createFlow({ type, dim: 2, hidden: [8] });
      a.trainableVariables.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(Array.from(b.trainableVariables[i]!.dataSync())));
      expect(Array.from(a.sample(3, { seed: 0 }).dataSync())).toEqual(Array.from(a.sample(3, { seed: 0 }).dataSync()));
      a.dispose();
      b.dispose();
    }
  });

  it('names bad configurations', () => {
    expect(() => createFlow({ type: 'maf' as never, dim: 2 })).toThrow(/createFlow: type is not a flow type, got "maf"\. Use one of: nice, realnvp, glow, nsf, ffjord, biflow/);
    expect(() => createFlow({ type: 'realnvp', dim: 1 })).toThrow(InvalidArgumentError);
    expect(() => createFlow({ type: 'biflow', dim: 2, blocks: ['cnf', 'lu', 7 as never] })).toThrow(/createFlow: blocks\[2\] is not a block, got 7/);
    expect(() => createFlow({ type: 'nsf', dim: 2, hidden: [0] })).toThrow(/hidden must be an array of positive integers/);
    expect(FLOW_TYPES).toContain('nsf');
  });

  it('trains: a few Adam steps of maximum likelihood raise the log-likelihood of the data', () => {
    const flow = createFlow({ type: 'realnvp', dim: 2, hidden: [32, 32], layers: 4 });
    const data = tf.tidy(() => tf.concat([tf.randomNormal([128, 1], 0, 0.3, 'float32', 1), tf.randomNormal([128, 1], 2, 0.5, 'float32', 2)], 1)) as tf.Tensor2D;
    const opt = tf.train.adam(1e-2);
    const nll = () => tf.neg(tf.mean(flow.logProb(data))) as tf.Scalar;
    const before = tf.tidy(() => nll().dataSync()[0]!);
    for (let i = 0; i < 30; i++) opt.minimize(nll, true, flow.trainableVariables)?.dispose();
    const after = tf.tidy(() => nll().dataSync()[0]!);
    expect(after).toBeLessThan(before - 0.5);
    opt.dispose();
    data.dispose();
    flow.dispose();
  });
});

describe('saveFlow / loadFlow', () => {
  const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'biflow-'));

  it.each(DISCRETE)('%s: save → load gives identical log-likelihoods and samples', async (type) => {
    const flow = createFlow({ type, dim: 3, hidden: [16], seed: 4 });
    flow.trainableVariables.forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', i)));
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 8) as tf.Tensor2D;
    flow.bijector.initialize?.(x);
    const dir = path.join(tmp(), 'model');
    await saveFlow(flow, dir);
    const back = await loadFlow(dir);
    expect(Array.from(back.logProb(x).dataSync())).toEqual(Array.from(flow.logProb(x).dataSync()));
    expect(Array.from(back.sample(4, { seed: 1 }).dataSync())).toEqual(Array.from(flow.sample(4, { seed: 1 }).dataSync()));
    x.dispose();
    flow.dispose();
    back.dispose();
  });

  it('replaces an existing save atomically and leaves no temporary folders', async () => {
    const root = tmp();
    const dir = path.join(root, 'model');
    const a = createFlow({ type: 'nice', dim: 2, hidden: [8] });
    await saveFlow(a, dir);
    a.trainableVariables.forEach((v) => v.assign(tf.onesLike(v)));
    await saveFlow(a, dir);
    expect(readdirSync(root)).toEqual(['model']);
    const back = await loadFlow(dir);
    expect(back.trainableVariables.every((v) => tf.min(v).dataSync()[0] === 1)).toBe(true);
    a.dispose();
    back.dispose();
  });

  it('fails with a typed error on a missing or corrupt model, and builds nothing', async () => {
    const before = tf.memory().numTensors;
    await expect(loadFlow(path.join(tmp(), 'nothing'))).rejects.toThrow(ModelFileError);
    await expect(loadFlow(path.join(tmp(), 'nothing'))).rejects.toThrow(/loadFlow: .*flow\.json: cannot be read \(ENOENT\)/);
    const dir = path.join(tmp(), 'model');
    const flow = createFlow({ type: 'realnvp', dim: 2, hidden: [8] });
    await saveFlow(flow, dir);
    flow.dispose();
    const weights = path.join(dir, 'weights.bin');
    writeFileSync(weights, readFileSync(weights).subarray(0, 100));
    await expect(loadFlow(dir)).rejects.toThrow(/weights\.bin: holds 100 bytes where the manifest describes/);
    writeFileSync(path.join(dir, 'flow.json'), '{ "format": ');
    await expect(loadFlow(dir)).rejects.toThrow(/flow\.json: is not valid JSON/);
    expect(existsSync(dir)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
