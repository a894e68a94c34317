import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend, createFlow, saveFlow, loadFlow, InvalidArgumentError } from '../../src/index.js';
import { Stack, DEFAULT_BLOCKS, Generator, countStates } from '../../src/biflow/index.js';
import { CNF } from '../../src/ffjord/index.js';
import { gridMass, leaks, maxDiff } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

/** Small random weights everywhere, so no block is the identity; T kept at its configured value. */
function randomize(flow: { bijector: { trainableVariables: tf.Variable[] } }, seed: number): void {
  flow.bijector.trainableVariables.forEach((v, i) => {
    if (v.rank > 0) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed + i));
  });
}

describe('mixed continuous–discrete stacks', () => {
  it("createFlow({ type: 'biflow', dim }) builds the default ActNorm → CNF → LU → spline → CNF stack", () => {
    const flow = createFlow({ type: 'biflow', dim: 2 });
    expect(flow.bijector).toBeInstanceOf(Stack);
    const stack = flow.bijector as Stack;
    expect(stack.kinds).toEqual([...DEFAULT_BLOCKS]);
    expect(stack.blocks.filter((b) => b instanceof CNF)).toHaveLength(2);
    flow.dispose();
  });

  it('its density integrates to 1 ± 0.02 in 2-D (quadrature on a grid)', () => {
    const flow = createFlow({ type: 'biflow', dim: 2, hidden: [8], cnfHidden: [8, 8], blocks: ['actnorm', 'cnf', 'lu', 'spline', 'cnf'], cnf: { rtol: 1e-6, atol: 1e-6 } });
    randomize(flow, 21);
    const total = gridMass(flow, 8, 161);
    expect(Math.abs(total - 1)).toBeLessThan(0.02);
    flow.dispose();
  });

  it('reports seconds per block and the NFE of each CNF block separately', () => {
    const flow = createFlow({ type: 'biflow', dim: 2, hidden: [8], cnfHidden: [8], blocks: ['cnf', 'affine', { kind: 'cnf', cnf: { rtol: 1e-7, atol: 1e-7 } }], cnf: { rtol: 1e-3, atol: 1e-3 } });
    randomize(flow, 3);
    const x = tf.randomNormal([16, 2], 0, 1, 'float32', 4) as tf.Tensor2D;
    tf.dispose([flow.logProb(x), flow.sample(8, { seed: 1 })]);
    const stats = (flow.bijector as Stack).blockStats();
    expect(stats.map((s) => s.kind)).toEqual(['cnf', 'affine', 'cnf']);
    stats.forEach((s) => {
      expect(s.forwardSeconds).toBeGreaterThan(0);
      expect(s.inverseSeconds).toBeGreaterThan(0);
    });
    expect(stats[1]!.nfeForward).toBeUndefined();
    // The tighter block takes more steps: the counts really are per block.
    expect(stats[2]!.nfeForward!).toBeGreaterThan(stats[0]!.nfeForward!);
    const totals = flow.stats();
    expect(totals.nfeForward).toBe(stats[0]!.nfeForward! + stats[2]!.nfeForward!);
    expect(totals['cnf2.nfeInverse']).toBe(stats[2]!.nfeInverse);
    x.dispose();
    flow.dispose();
  });

  it('rejects an unknown block kind and an empty stack with typed errors naming the argument', () => {
    expect(() => createFlow({ type: 'biflow', dim: 2, blocks: ['actnorm', 'conv' as never] })).toThrow(/createFlow: blocks\[1\].*conv/);
    expect(() => createFlow({ type: 'biflow', dim: 2, blocks: [] })).toThrow(InvalidArgumentError);
  });

  it('saves and loads a stack with its generator: same log-likelihoods and same one-pass samples', async () => {
    const flow = createFlow({ type: 'biflow', dim: 2, hidden: [8], cnfHidden: [8], blocks: ['actnorm', 'cnf', 'spline'], seed: 3 });
    randomize(flow, 5);
    flow.generator = new Generator(2, countStates(flow.bijector, 2), { interior: 2, hidden: [8] });
    flow.generator.trainableVariables.forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', 40 + i)));
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'biflow-stack-')), 'model');
    await saveFlow(flow, dir);
    const back = await loadFlow(dir);
    expect(back.generator).toBeInstanceOf(Generator);
    const x = tf.randomNormal([10, 2], 0, 1, 'float32', 6) as tf.Tensor2D;
    const [a, b] = [flow.logProb(x), back.logProb(x)];
    expect(maxDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-5);
    const [g1, g2] = [flow.sample(10, { seed: 2, via: 'generator' }), back.sample(10, { seed: 2, via: 'generator' })];
    expect(maxDiff(g1.dataSync(), g2.dataSync())).toBe(0);
    tf.dispose([x, a, b, g1, g2]);
    flow.dispose();
    back.dispose();
  });

  it('leaks no tensors over repeated forward and inverse passes of a stack', () => {
    const flow = createFlow({ type: 'biflow', dim: 2, hidden: [8], cnfHidden: [8] });
    const x = tf.randomNormal([8, 2], 0, 1, 'float32', 1) as tf.Tensor2D;
    expect(leaks(() => tf.dispose([flow.logProb(x), flow.sample(4, { seed: 3 })]))).toEqual([0, 0, 0]);
    x.dispose();
    flow.dispose();
  });
});
