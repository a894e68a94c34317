import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend, createFlow, InvalidArgumentError } from '../../src/index.js';
import { AlignmentObjective, Generator, countStates, forwardStates, trainGenerator } from '../../src/biflow/index.js';
import { CNF } from '../../src/ffjord/index.js';
import { loadDataset } from '../../src/data/dataset.js';
import { leaks, maxDiff } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

function randomize(vars: tf.Variable[], seed: number, sd = 0.3): void {
  vars.forEach((v, i) => {
    if (v.rank > 0) v.assign(tf.randomNormal(v.shape, 0, sd, 'float32', seed + i));
  });
}

const snapshot = (vars: tf.Variable[]) => vars.map((v) => Array.from(v.dataSync()));

describe('hidden-alignment targets: the forward path of a flow', () => {
  it('has one state per block boundary and interior + 1 per CNF block, ending at F(x)', () => {
    const flow = createFlow({ type: 'biflow', dim: 2, hidden: [8], cnfHidden: [8], blocks: ['actnorm', 'cnf', 'lu', 'cnf'], cnf: { rtol: 1e-7, atol: 1e-7 } });
    randomize(flow.bijector.trainableVariables, 2);
    const x = tf.randomNormal([12, 2], 0, 1, 'float32', 3) as tf.Tensor2D;
    const states = forwardStates(flow.bijector, x, 3);
    expect(states).toHaveLength(countStates(flow.bijector, 3));
    expect(states).toHaveLength(1 + 4 + 1 + 4);
    const { y, logDet } = flow.bijector.forward(x);
    expect(maxDiff(states.at(-1)!.dataSync(), y.dataSync())).toBeLessThan(1e-4);
    tf.dispose([x, y, logDet, ...states]);
    flow.dispose();
  });

  it("carries the gradient of a CNF path state to √T (checked by finite differences)", () => {
    const cnf = new CNF({ dim: 2, hidden: [8], rtol: 1e-7, atol: 1e-7, gradient: 'direct' });
    randomize(cnf.net.variables, 7, 0.5);
    const x = tf.randomNormal([5, 2], 0, 1, 'float32', 8) as tf.Tensor2D;
    const objective = () => tf.tidy(() => {
      const states = cnf.path(x, 2);
      return tf.add(tf.sum(tf.square(states[0]!)), tf.sum(states[1]!)) as tf.Scalar;
    });
    const { value, grads } = tf.variableGrads(objective, [cnf.sqrtT]);
    const s0 = cnf.sqrtT.dataSync()[0]!;
    const h = 1e-2;
    const at = (s: number) => { cnf.sqrtT.assign(tf.scalar(s)); const v = objective(); const n = v.dataSync()[0]!; v.dispose(); return n; };
    const fd = (at(s0 + h) - at(s0 - h)) / (2 * h);
    cnf.sqrtT.assign(tf.scalar(s0));
    expect(grads[cnf.sqrtT.name]!.dataSync()[0]).toBeCloseTo(fd, 2);
    expect(Math.abs(fd)).toBeGreaterThan(1e-3);
    tf.dispose([x, value, ...Object.values(grads)]);
    cnf.dispose();
  });
});

describe('the one-pass generator', () => {
  it('starts as the identity map and rejects a count that does not match the flow', () => {
    const flow = createFlow({ type: 'realnvp', dim: 2, layers: 2, hidden: [8] });
    const g = new Generator(2, countStates(flow.bijector, 3), { hidden: [8] });
    const z = tf.randomNormal([6, 2], 0, 1, 'float32', 1) as tf.Tensor2D;
    const out = g.generate(z);
    expect(maxDiff(out.dataSync(), z.dataSync())).toBe(0);
    expect(() => new AlignmentObjective(flow, new Generator(2, 5))).toThrow(/AlignmentObjective: generator/);
    tf.dispose([z, out]);
    g.dispose();
    flow.dispose();
  });

  it('sampling via the generator without one is a typed error with the fix', () => {
    const flow = createFlow({ type: 'nice', dim: 2, layers: 2, hidden: [4] });
    expect(() => flow.sample(3, { via: 'generator' })).toThrow(/Flow.sample: via .*trainGenerator/);
    expect(() => flow.sample(3, { via: 'bogus' as never })).toThrow(InvalidArgumentError);
    flow.dispose();
  });

  it('learns to invert a fixed flow: reconstruction ‖G(F(x)) − x‖² falls at least fourfold, F untouched', async () => {
    const data = loadDataset('8gaussians', { seed: 0 });
    const flow = createFlow({ type: 'realnvp', dim: 2, layers: 2, hidden: [16], seed: 1 });
    randomize(flow.bijector.trainableVariables, 11, 0.4);
    const before = snapshot(flow.trainableVariables);
    const { generator, result } = await trainGenerator(flow, data, { iters: 150, batch: 64, lr: 5e-3, hidden: [32, 32], interior: 0, progress: 'none', logEvery: 10 });
    expect(flow.generator).toBe(generator);
    const first = result.history[0]!.reconstruction!;
    const last = result.history.at(-1)!.reconstruction!;
    expect(last).toBeLessThan(first / 4);
    expect(snapshot(flow.trainableVariables)).toEqual(before);
    flow.dispose();
  });

  it("with freezeFlow, alignment sends no gradient into F: joint gradients on F equal the NLL's alone", () => {
    const flow = createFlow({ type: 'realnvp', dim: 2, layers: 2, hidden: [8], seed: 2 });
    randomize(flow.bijector.trainableVariables, 21);
    const g = new Generator(2, countStates(flow.bijector, 0), { interior: 0, hidden: [8] });
    randomize(g.trainableVariables, 31, 0.2);
    const x = tf.randomNormal([20, 2], 0, 1, 'float32', 5) as tf.Tensor2D;
    const vars = flow.trainableVariables;
    const grad = (f: () => tf.Scalar) => {
      const { value, grads } = tf.variableGrads(f, vars);
      const out = vars.map((v) => Array.from(grads[v.name]!.dataSync()));
      tf.dispose([value, ...Object.values(grads)]);
      return out.flat();
    };
    const frozen = new AlignmentObjective(flow, g, { schedule: 'joint', freezeFlow: true });
    const free = new AlignmentObjective(flow, g, { schedule: 'joint', freezeFlow: false });
    const nll = grad(() => flow.loss(x));
    expect(maxDiff(grad(() => frozen.loss(x)), nll)).toBeLessThan(1e-5);
    expect(maxDiff(grad(() => free.loss(x)), nll)).toBeGreaterThan(1e-3);
    expect(frozen.trainableVariables).toHaveLength(g.trainableVariables.length + vars.length);
    expect(new AlignmentObjective(flow, g).trainableVariables).toHaveLength(g.trainableVariables.length);
    frozen.dispose();
    free.dispose();
    x.dispose();
    g.dispose();
    flow.dispose();
  });

  it('leaks no tensors over repeated alignment losses, gradients and generator samples', () => {
    const flow = createFlow({ type: 'biflow', dim: 2, hidden: [8], cnfHidden: [8], blocks: ['actnorm', 'cnf', 'spline'] });
    const g = new Generator(2, countStates(flow.bijector, 2), { interior: 2, hidden: [8] });
    flow.generator = g;
    const objective = new AlignmentObjective(flow, g);
    const x = tf.randomNormal([8, 2], 0, 1, 'float32', 2) as tf.Tensor2D;
    objective.loss(x).dispose();
    expect(leaks(() => {
      const { value, grads } = tf.variableGrads(() => objective.loss(x), objective.trainableVariables);
      tf.dispose([value, ...Object.values(grads), flow.sample(4, { seed: 1, via: 'generator' })]);
      objective.stats();
    })).toEqual([0, 0, 0]);
    objective.dispose();
    x.dispose();
    flow.dispose();
  });
});
