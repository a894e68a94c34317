/**
 * One tfjs: biflow's `tf` is the `@tensorflow/tfjs-core` module a user imports (a peer
 * dependency, so the install has one copy), with every gradient registered, and the backends
 * biflow loads use that same copy.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tfc from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createFlow, tf, useBackend } from '../../src/index.js';

const root = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;

describe('one tfjs-core instance', () => {
  it("biflow's tf is the user's @tensorflow/tfjs-core module, and a tensor the user makes is biflow's kind", async () => {
    await useBackend('wasm');
    expect(tf).toBe(tfc);
    const x = tfc.tensor2d([[0.5, -1], [2, 0.25]]);
    expect(x).toBeInstanceOf(tf.Tensor);
    const flow = createFlow({ type: 'realnvp', dim: 2, seed: 3 });
    const before = tf.memory().numTensors;
    const lp = flow.logProb(x);
    expect(lp).toBeInstanceOf(tfc.Tensor);
    expect(lp.shape).toEqual([2]);
    expect(Array.from(lp.dataSync()).every(Number.isFinite)).toBe(true);
    lp.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    flow.dispose();
  });

  it('has the gradients of the ops biflow differentiates registered (tfjs-core alone registers none)', () => {
    const x = tf.tensor1d([-1.5, 0.2, 2]);
    // d/dx Σ tanh(x)·exp(x)/(1 + x²), against the closed form.
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.div(tf.mul(tf.tanh(v), tf.exp(v)), tf.add(1, tf.square(v)))))(x);
    const expected = [-1.5, 0.2, 2].map((v) => {
      const t = Math.tanh(v);
      const e = Math.exp(v);
      const d = 1 + v * v;
      return ((1 - t * t) * e + t * e) / d - (t * e * 2 * v) / (d * d);
    });
    Array.from(g.dataSync()).forEach((gi, i) => expect(gi).toBeCloseTo(expected[i]!, 5));
    tf.dispose([x, g]);
  });

  it("tfjs-core's gradients that call chained methods work: prod, and gather with batchDims", async () => {
    // cpu: tfjs-wasm has no UnsortedSegmentSum kernel, which gather's gradient needs.
    await useBackend('cpu');
    const x = tf.tensor2d([[1, 2, 3], [-0.5, 4, 2]]);
    // d/dx_ij Π_j x_ij = Π_{k≠j} x_ik (no zeros here: the row product over the entry).
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.prod(v, 1)))(x);
    expect(Array.from(g.dataSync())).toEqual([6, 3, 2, 8, -1, -2]);
    // gather with batchDims 1: row b picks columns idx[b]; the gradient counts each pick.
    const idx = tf.tensor2d([[2, 2], [0, 1]], [2, 2], 'int32');
    const gg = tf.grad((v: tf.Tensor) => tf.sum(tf.gather(v, idx, 1, 1)))(x);
    expect(Array.from(gg.dataSync())).toEqual([0, 0, 2, 1, 1, 0]);
    tf.dispose([x, g, idx, gg]);
    await useBackend('wasm');
  });

  it('the backends resolve the same tfjs-core copy, and the package depends on no tfjs umbrella', () => {
    const core = createRequire(path.join(root, 'package.json')).resolve('@tensorflow/tfjs-core');
    for (const backend of ['@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-layers']) {
      const from = createRequire(path.join(root, 'package.json')).resolve(backend);
      expect(createRequire(from).resolve('@tensorflow/tfjs-core'), backend).toBe(core);
    }
    expect(pkg.peerDependencies?.['@tensorflow/tfjs-core']).toBeDefined();
    expect(pkg.dependencies?.['@tensorflow/tfjs-core']).toBeUndefined();
    for (const heavy of ['@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu']) {
      expect(pkg.dependencies?.[heavy], heavy).toBeUndefined();
      expect(pkg.optionalDependencies?.[heavy], heavy).toBeUndefined();
    }
    const meta = pkg.peerDependenciesMeta as unknown as Record<string, { optional?: boolean }>;
    for (const optional of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu']) expect(meta[optional]?.optional, optional).toBe(true);
  });
});
