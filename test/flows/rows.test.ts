/**
 * One rule for rows, every flow type: 0 rows give empty results; a row with a NaN or ±Inf entry
 * gets log-density NaN and leaves the other rows as they would be alone; large requests run in
 * batches, and those that cannot fit the backend's memory are refused up front.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createFlow, tf, useBackend, FLOW_TYPES, InvalidArgumentError, CNF } from '../../src/index.js';
import type { Flow, FlowType } from '../../src/index.js';
import { leaks, maxDiff } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

function small(type: FlowType): Flow {
  const flow = createFlow({ type, dim: 2, hidden: [8], layers: 2, ...(type === 'biflow' ? { cnfHidden: [8] } : {}), ...(type === 'ffjord' || type === 'biflow' ? { cnf: { rtol: 1e-6, atol: 1e-6 } } : {}) });
  flow.trainableVariables.forEach((v, i) => {
    if (v.rank > 0) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 90 + i));
  });
  return flow;
}

const hasCNF = (flow: Flow) => flow.bijector instanceof CNF || (flow.bijector as { blocks?: unknown[] }).blocks?.some((b) => b instanceof CNF);

describe.each(FLOW_TYPES)('rows rule: %s', (type) => {
  it('a NaN or ±Inf row gets NaN; the other rows are what they are alone; nothing leaks', () => {
    const flow = small(type);
    const x = tf.tensor2d([[NaN, 0.3], [0.2, -0.4], [Infinity, 1], [-0.5, 0.7], [0.1, -Infinity]]);
    const alone = tf.tensor2d([[0.2, -0.4], [-0.5, 0.7]]);
    const lp = Array.from(flow.logProb(x).dataSync());
    const ref = Array.from(flow.logProb(alone).dataSync());
    expect(lp.filter((_, i) => i !== 1 && i !== 3).every(Number.isNaN)).toBe(true);
    expect(maxDiff([lp[1]!, lp[3]!], ref)).toBeLessThan(1e-6);
    expect(ref.every(Number.isFinite)).toBe(true);
    expect(leaks(() => flow.logProb(x))).toEqual([0, 0, 0]);
    // Differentiable through the finite rows; the NaN rows carry no gradient.
    const vars = flow.trainableVariables;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.where(tf.tensor1d([false, true, false, true, false], 'bool'), flow.logProb(x), 0)) as tf.Scalar, vars);
    for (const v of vars) expect(Array.from(grads[v.name]!.dataSync()).every(Number.isFinite), v.name).toBe(true);
    tf.dispose([x, alone, value, ...Object.values(grads)]);
    flow.dispose();
  });

  it('0 rows: logProb → [0], sample(0) → [0, dim], sampleAndLogProb(0) → [0, dim] and [0]; nll of nothing is an error', () => {
    const flow = small(type);
    const empty = tf.zeros([0, 2]) as tf.Tensor2D;
    const check = () => {
      const lp = flow.logProb(empty);
      const s = flow.sample(0, { seed: 1 });
      const both = flow.sampleAndLogProb(0, { seed: 1 });
      expect([lp.shape, s.shape, both.x.shape, both.logProb.shape]).toEqual([[0], [0, 2], [0, 2], [0]]);
      tf.dispose([lp, s, both.x, both.logProb]);
    };
    expect(leaks(check)).toEqual([0, 0, 0]);
    expect(() => flow.nll(new Float32Array(0))).toThrow(/Flow\.nll: rows must hold a whole number of rows of 2 values, at least one row, got 0/);
    expect(() => flow.sample(-1)).toThrow(/Flow\.sample: n must be a non-negative integer, got -1/);
    empty.dispose();
    flow.dispose();
  });

  it('batches give the values of one pass (to the solver tolerance for CNF blocks)', () => {
    const flow = small(type);
    const x = tf.randomNormal([9, 2], 0, 1, 'float32', 5) as tf.Tensor2D;
    const tol = hasCNF(flow) ? 1e-4 : 1e-6;
    expect(maxDiff(flow.logProb(x, { batch: 4 }).dataSync(), flow.logProb(x).dataSync())).toBeLessThan(tol);
    expect(maxDiff(flow.sample(9, { seed: 2, batch: 4 }).dataSync(), flow.sample(9, { seed: 2 }).dataSync())).toBeLessThan(tol);
    expect(maxDiff(flow.densityGrid([-3, 3, -3, 3], 5, { batch: 7 }), flow.densityGrid([-3, 3, -3, 3], 5))).toBeLessThan(tol);
    expect(() => flow.logProb(x, { batch: 0 })).toThrow(/Flow\.logProb: batch must be a positive integer/);
    x.dispose();
    flow.dispose();
  });
});

describe('sizes', () => {
  it('refuses a sample the backend cannot hold, at once, saying the limit and how to batch', () => {
    const flow = small('realnvp');
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    expect(() => flow.sample(1e9)).toThrow(InvalidArgumentError);
    expect(() => flow.sample(1e9)).toThrow(/Flow\.sample: n needs a tensor of 7\.45 GiB .* more than the wasm backend holds in one tensor \(4\.00 GiB\); got 1000000000\. About \d+ fit at once here/);
    expect(() => flow.sampleAndLogProb(4e8)).toThrow(/Flow\.sampleAndLogProb: n needs 8\.94 GiB of tensors/);
    expect(() => flow.densityGrid([-1, 1, -1, 1], 1e5)).toThrow(/Flow\.densityGrid: n needs/);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(tf.memory().numTensors).toBe(before);
    flow.dispose();
  });

  it.each(['ffjord', 'realnvp', 'nsf', 'biflow'] as const)('createFlow(%s, hidden: [1e9]) fails at once with the parameter count, leaving nothing', (type) => {
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const make = () => createFlow({ type, dim: 2, hidden: [1e9], ...(type === 'biflow' ? { cnfHidden: [1e9] } : {}) });
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(/hidden needs a tensor of \d+\.\d\d GiB \(\d\.\d\de\+\d+ parameters as float32\), more than the wasm backend holds in one tensor/);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(tf.memory().numTensors).toBe(before);
  });
});
