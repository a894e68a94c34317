import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/index.js';
import { Adam } from '../../src/train/adam.js';

beforeAll(async () => {
  await useBackend('wasm');
});

/** Gradients of a fixed quadratic-plus-sine loss, different at every step. */
const lossOf = (w: tf.Variable[]) => () => tf.tidy(() => tf.addN(w.map((v, i) => tf.sum(tf.add(tf.square(tf.sub(v, i + 0.5)), tf.sin(tf.mul(v, 3)))))) as tf.Scalar);
const fresh = () => [tf.variable(tf.tensor1d([0.3, -1.2, 2.5])), tf.variable(tf.tensor2d([[0.1, 0.2], [-0.4, 0.9]]))];
const values = (w: tf.Variable[]) => w.map((v) => Array.from(v.dataSync()));

function stepOurs(opt: Adam, w: tf.Variable[]) {
  const { grads, value } = tf.variableGrads(lossOf(w), w);
  opt.apply(w.map((v) => grads[v.name]));
  tf.dispose([value, ...Object.values(grads)]);
}

describe('Adam', () => {
  it("takes tfjs's Adam steps: the same weights as tf.train.adam after 40 steps", () => {
    const [a, b] = [fresh(), fresh()];
    const ours = new Adam(a, { lr: 0.05 });
    const theirs = tf.train.adam(0.05);
    for (let k = 0; k < 40; k++) {
      stepOurs(ours, a);
      const { grads, value } = tf.variableGrads(lossOf(b), b);
      theirs.applyGradients(grads as tf.NamedTensorMap as never);
      tf.dispose([value, ...Object.values(grads)]);
    }
    // The same float32 ops in the same order: equal to the last bit, not merely to round-off.
    expect(values(a)).toEqual(values(b));
    ours.dispose();
    theirs.dispose();
    tf.dispose([...a, ...b]);
  });

  it("steps large variables on wasm's SIMD module (four at a time, the rest by the loop) as tf.train.adam and the kernel path do, bit for bit", () => {
    // 4099 = 4·1024 + 3 elements: the module's rounds and the scalar tail; gradients over many
    // magnitudes (1e-30 … 1e3) so that every rounding of the chain is exercised.
    const make = () => [tf.variable(tf.randomNormal([4099], 0, 1, 'float32', 1)), tf.variable(tf.randomNormal([64, 64], 0, 1, 'float32', 2))];
    const [a, b, c] = [make(), make(), make()];
    const [ours, kernels, theirs] = [new Adam(a, { lr: 0.01 }), new Adam(c, { lr: 0.01, fused: false }), tf.train.adam(0.01)];
    for (let k = 0; k < 12; k++) {
      const grads = a.map((v, i) => tf.tidy(() => tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 100 * k + i), tf.pow(10, tf.randomUniform(v.shape, -30, 3, 'float32', 7 * k + i)))));
      ours.apply(grads);
      kernels.apply(grads);
      theirs.applyGradients(Object.fromEntries(b.map((v, i) => [v.name, grads[i]!])) as tf.NamedTensorMap as never);
      tf.dispose(grads);
    }
    expect(values(a)).toEqual(values(b));
    expect(values(a)).toEqual(values(c));
    expect(ours.state().moments.map((m) => Array.from(m.dataSync()))).toEqual(kernels.state().moments.map((m) => Array.from(m.dataSync())));
    [ours, kernels, theirs].forEach((o) => o.dispose());
    tf.dispose([...a, ...b, ...c]);
  });

  it('applies decoupled weight decay after the step: w ← w·(1 − lr·λ)', () => {
    const [a, b] = [fresh(), fresh()];
    const decayed = new Adam(a, { lr: 0.05, weightDecay: 0.5 });
    const plain = new Adam(b, { lr: 0.05 });
    stepOurs(decayed, a);
    stepOurs(plain, b);
    const f = Math.fround(1 - 0.05 * 0.5);
    values(a).forEach((row, i) => row.forEach((x, j) => expect(x).toBe(Math.fround(values(b)[i]![j]! * f))));
    tf.dispose([...a, ...b]);
    decayed.dispose();
    plain.dispose();
  });

  it('restored from its state at step 25 continues bit for bit (tfjs setWeights does not: its β₂ᵗ is an ulp off)', async () => {
    const [a, b, c] = [fresh(), fresh(), fresh()];
    const straight = new Adam(a, { lr: 0.05 });
    const first = new Adam(b, { lr: 0.05 });
    for (let k = 0; k < 25; k++) {
      stepOurs(straight, a);
      stepOurs(first, b);
    }
    const { step, moments } = first.state();
    const copies = moments.map((m) => m.clone());
    first.dispose();
    const resumed = new Adam(b, { lr: 0.05 });
    expect(resumed.setState(step, copies)).toBeNull();
    tf.dispose(copies);
    for (let k = 0; k < 5; k++) {
      stepOurs(straight, a);
      stepOurs(resumed, b);
    }
    expect(values(b)).toEqual(values(a));

    // The same interruption through tfjs's own getWeights/setWeights ends elsewhere.
    const t1 = tf.train.adam(0.05);
    const tstep = (o: tf.Optimizer, w: tf.Variable[]) => {
      const { grads, value } = tf.variableGrads(lossOf(w), w);
      o.applyGradients(grads as tf.NamedTensorMap as never);
      tf.dispose([value, ...Object.values(grads)]);
    };
    for (let k = 0; k < 25; k++) tstep(t1, c);
    const saved = await t1.getWeights();
    const t2 = tf.train.adam(0.05);
    await t2.setWeights(saved.map((s) => ({ name: s.name, tensor: s.tensor.clone() })));
    for (let k = 0; k < 5; k++) tstep(t2, c);
    expect(values(c)).not.toEqual(values(a));
    tf.dispose([saved[0]!.tensor]);
    [t1, t2, straight, resumed].forEach((o) => o.dispose());
    tf.dispose([...a, ...b, ...c]);
  });

  it('leaks no tensor across construction, steps, state and restore', () => {
    const w = fresh();
    const before = tf.memory().numTensors;
    for (let r = 0; r < 3; r++) {
      const opt = new Adam(w, { lr: 0.01, weightDecay: 0.1 });
      stepOurs(opt, w);
      const copies = opt.state().moments.map((m) => m.clone());
      expect(opt.setState(1, copies)).toBeNull();
      tf.dispose(copies);
      expect(opt.setState(1, copies.slice(1))).toMatch(/moments where the model's 2 variables need 4/);
      opt.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(w);
  });

  it('updates its moments in place (one new buffer per variable and step, the weight), never a buffer someone else holds', () => {
    const [a, b] = [fresh(), fresh()];
    const opt = new Adam(a, { lr: 0.05 });
    const ref = new Adam(b, { lr: 0.05, fused: false });
    const backend = tf.engine().backend as unknown as { makeOutput(...args: unknown[]): unknown };
    const makeOutput = backend.makeOutput;
    let made = 0;
    backend.makeOutput = function (this: unknown, ...args: unknown[]) {
      made++;
      return makeOutput.apply(this, args);
    };
    try {
      for (let k = 0; k < 2; k++) {
        const { grads, value } = tf.variableGrads(lossOf(a), a);
        made = 0;
        opt.apply(a.map((v) => grads[v.name]));
        expect(made).toBe(a.length); // the new weights; the moments were written where they are
        tf.dispose([value, ...Object.values(grads)]);
      }
    } finally {
      backend.makeOutput = makeOutput;
    }
    // A tensor sharing a moment's buffer (a clone of the saved state) keeps its values through the steps.
    const held = opt.state().moments.map((m) => m.clone());
    const kept = held.map((t) => Array.from(t.dataSync()));
    stepOurs(ref, b);
    stepOurs(ref, b);
    for (let k = 0; k < 3; k++) {
      stepOurs(opt, a);
      stepOurs(ref, b);
    }
    expect(held.map((t) => Array.from(t.dataSync()))).toEqual(kept);
    expect(values(a)).toEqual(values(b)); // and the in-place steps are tfjs's, bit for bit
    tf.dispose([...held, ...a, ...b]);
    opt.dispose();
    ref.dispose();
  });
});
