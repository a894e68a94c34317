import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFlow, loadFlow, saveFlow, tf, useBackend, BiflowError, InvalidArgumentError, ModelFileError, FLOW_TYPES } from '../../src/index.js';
import type { FlowConfig } from '../../src/index.js';
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

  // Each was accepted before and failed at the first logProb (or never): now createFlow names it.
  const BAD: [string, Partial<FlowConfig> & { type?: FlowConfig['type'] }, RegExp][] = [
    ['an unknown activation', { type: 'nsf', activation: 'bogus' as never }, /createFlow: activation is not an activation, got "bogus"/],
    ['relu for an ODE net', { type: 'ffjord', activation: 'relu' }, /createFlow: activation is not an activation, got "relu"/],
    ['an unknown method', { type: 'ffjord', cnf: { method: 'bogus' as never } }, /createFlow: method is not a known method, got "bogus"/],
    ['a negative rtol', { type: 'ffjord', cnf: { rtol: -1 } }, /createFlow: cnf\.rtol must be a positive finite number, got -1/],
    ['a NaN atol', { type: 'biflow', cnf: { atol: NaN } }, /createFlow: cnf\.atol must be a positive finite number, got NaN/],
    ['a zero step', { type: 'ffjord', cnf: { method: 'rk4', stepSize: 0 } }, /cnf\.stepSize must be a positive finite step, got 0/],
    ['a negative end time', { type: 'ffjord', cnf: { T: -0.5 } }, /cnf\.T must be a positive end time, got -0\.5/],
    ['an unknown gradient', { type: 'ffjord', cnf: { gradient: 'bogus' as never } }, /cnf\.gradient must be one of direct, backsolve, checkpoint, got "bogus"/],
    ['an unknown trace', { type: 'ffjord', cnf: { trace: 'bogus' as never } }, /cnf\.trace must be one of exact, hutchinson/],
    ['an unknown probe', { type: 'ffjord', cnf: { probe: 'bogus' as never } }, /cnf\.probe must be one of gaussian, rademacher/],
    ['an unknown layer', { type: 'ffjord', cnf: { layer: 'bogus' as never } }, /cnf\.layer is not a layer kind, got "bogus"/],
    ['a misspelt CNF option', { type: 'ffjord', cnf: { tol: 1e-3 } as never }, /cnf\.tol is not a CNF option/],
    ['hidden inside cnf', { type: 'ffjord', cnf: { hidden: [8] } as never }, /cnf\.hidden is not set here/],
    ['a NaN seed', { type: 'realnvp', seed: NaN }, /createFlow: seed must be an integer, got NaN/],
    ['a fractional seed', { type: 'nice', seed: 1.5 }, /createFlow: seed must be an integer, got 1\.5/],
    ['one bin', { type: 'nsf', bins: 1 }, /createFlow: bins must be an integer ≥ 2, got 1/],
    ['an infinite bound', { type: 'nsf', bound: Infinity }, /createFlow: bound must be a positive finite number, got Infinity/],
    ['an unknown field', { type: 'realnvp', hiden: [8] } as never, /createFlow: hiden is not a configuration field/],
    ['blocks for a non-biflow type', { type: 'glow', blocks: ['lu'] }, /createFlow: blocks is a 'biflow' field/],
    ['an empty stack', { type: 'biflow', blocks: [] }, /createFlow: blocks must be a non-empty array/],
    ['a bad block option', { type: 'biflow', blocks: ['actnorm', { kind: 'cnf', cnf: { method: 'bogus' as never } }] }, /createFlow: method is not a known method/],
    ['bad block hidden sizes', { type: 'biflow', blocks: [{ kind: 'affine', hidden: [0] }] }, /createFlow: blocks\[0\]\.hidden must be an array of positive integers/],
    ['bad block bins', { type: 'biflow', blocks: [{ kind: 'spline', bins: 0 }] }, /createFlow: blocks\[0\]\.bins must be an integer ≥ 2/],
    ['a misspelt block option', { type: 'biflow', blocks: [{ kind: 'spline', bin: 4 } as never] }, /createFlow: blocks\[0\]\.bin is not a block option/],
  ];

  it.each(BAD)('rejects %s up front, with a typed error naming it, building nothing', (_what, config, message) => {
    const before = tf.memory().numTensors;
    const make = () => createFlow({ dim: 2, hidden: [8], ...config } as FlowConfig);
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
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

  it('refuses a saved configuration createFlow would refuse, with a typed error, building nothing', async () => {
    const dir = path.join(tmp(), 'model');
    const flow = createFlow({ type: 'ffjord', dim: 2, hidden: [8] });
    await saveFlow(flow, dir);
    flow.dispose();
    const file = path.join(dir, 'flow.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { config: FlowConfig };
    for (const cnf of [{ method: 'bogus' }, { rtol: -1 }, { gradient: 'bogus' }, { trace: 'bogus' }]) {
      writeFileSync(file, JSON.stringify({ ...saved, config: { ...saved.config, cnf: { ...saved.config.cnf, ...cnf } } }));
      const before = tf.memory().numTensors;
      await expect(loadFlow(dir)).rejects.toBeInstanceOf(BiflowError);
      await expect(loadFlow(dir)).rejects.toThrow(/bogus|-1/);
      expect(tf.memory().numTensors).toBe(before);
    }
    writeFileSync(file, JSON.stringify({ ...saved, config: { ...saved.config, seed: null } }));
    await expect(loadFlow(dir)).rejects.toThrow(/seed must be an integer, got null/);
  });
});
