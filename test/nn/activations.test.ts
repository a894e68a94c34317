import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, tf, useBackend } from '../../src/index.js';
import { maxDiff } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const Z = [[0.3, -0.7], [1.1, 0.4], [-1.5, 0.2]];
const EPS = [[1, -1], [-1, 1], [1, 1]];
const W0 = [[0.8, -0.5], [0.3, 1.2]];

/**
 * Hutchinson's trace estimate εᵀ(∂f/∂z)ε of f(z) = act(z Wᵀ) and its gradient with respect to W —
 * a gradient of a gradient, which is what FFJORD training differentiates.
 */
function hutchinson(act: (x: tf.Tensor) => tf.Tensor, W: tf.Tensor): tf.Scalar {
  const z = tf.tensor2d(Z);
  const eps = tf.tensor2d(EPS);
  const vjp = tf.grad((zz: tf.Tensor) => tf.sum(tf.mul(act(tf.matMul(zz, W, false, true)), eps)))(z);
  return tf.sum(tf.mul(vjp, eps));
}

function check(act: (x: tf.Tensor) => tf.Tensor): { grad: number[]; fd: number[] } {
  const grad = tf.tidy(() => Array.from(tf.grad((W: tf.Tensor) => hutchinson(act, W))(tf.tensor2d(W0)).dataSync()));
  const h = 1e-2;
  const fd = W0.flatMap((row, i) => row.map((_, j) => {
    const at = (d: number) => tf.tidy(() => hutchinson(act, tf.tensor2d(W0.map((r, a) => r.map((v, c) => (a === i && c === j ? v + d : v))))).dataSync()[0]!);
    return (at(h) - at(-h)) / (2 * h);
  }));
  return { grad, fd };
}

describe('activations with correct second-order gradients', () => {
  it.each(Object.keys(ACTIVATIONS))('%s: the gradient of a Hutchinson trace matches finite differences', (name) => {
    const { grad, fd } = check(ACTIVATIONS[name as keyof typeof ACTIVATIONS]);
    expect(maxDiff(grad, fd)).toBeLessThan(2e-3);
  });

  it.each(Object.keys(ACTIVATIONS))('%s: values and first derivatives equal tfjs’s own op', (name) => {
    const ours = ACTIVATIONS[name as keyof typeof ACTIVATIONS];
    const theirs = { tanh: tf.tanh, sigmoid: tf.sigmoid, softplus: tf.softplus, elu: tf.elu, swish: (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x)) }[name]!;
    const x = tf.linspace(-3, 3, 13);
    expect(maxDiff(ours(x).dataSync(), theirs(x).dataSync())).toBeLessThan(1e-6);
    expect(maxDiff(tf.grad(ours)(x).dataSync(), tf.grad(theirs)(x).dataSync())).toBeLessThan(1e-5);
  });

  it('the same test fails for tfjs’s built-in tanh (tfjs issue 3252) — so it can tell', () => {
    const { grad, fd } = check(tf.tanh);
    expect(maxDiff(grad, fd)).toBeGreaterThan(0.1);
  });

  it('leaks no tensors', () => {
    const x = tf.tensor1d([0.1, -2, 3]);
    for (const act of Object.values(ACTIVATIONS)) {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        tf.grad((v: tf.Tensor) => tf.sum(tf.grad(act)(v)))(x);
      });
      expect(tf.memory().numTensors).toBe(before);
    }
    x.dispose();
  });
});
