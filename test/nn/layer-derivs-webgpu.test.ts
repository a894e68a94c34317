import { afterAll, describe, expect, it } from 'vitest';
import { ODENet, tf, useBackend } from '../../src/index.js';
import type { LayerKind } from '../../src/index.js';
import { KernelRunner } from '../../src/backend/kernels.js';
import { LAYER_DEFS } from '../../src/nn/layer-defs.js';
import { effective, layerGrads } from '../../src/nn/layer-kernels.js';
import { onWebGPU, rel } from '../webgpu-helpers.js';

afterAll(async () => {
  await useBackend('wasm');
});

const KINDS = Object.keys(LAYER_DEFS) as LayerKind[];

/** Every kind's layerGrads (cotangents hᵀ·dy, Σ dy) and its FM loss gradients, read asynchronously. */
async function gradients(kind: LayerKind): Promise<number[][]> {
  const net = new ODENet({ dim: 3, hidden: [6], layer: kind, seed: 5 });
  tf.tidy(() => net.variables.forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.8, 'float32', 30 + i))));
  const p = net.layerVariables[0]!;
  const [h, dy] = [tf.randomNormal([4, 3], 0, 1, 'float32', 7), tf.randomNormal([4, 6], 0, 1, 'float32', 8)];
  const r = KernelRunner.create()!;
  let layer: tf.Tensor[];
  try {
    layer = layerGrads(r, kind, 0.41, p, effective(r, kind, 0.41, p).ctx, r.matMul(r.transpose(h), dy), r.sum(dy, 0)).map((g) => r.keep(g));
  } finally {
    r.free();
  }
  const [t, x, u] = [tf.randomUniform([9, 1], 0, 1, 'float32', 3), tf.randomNormal([9, 3], 0, 1, 'float32', 4), tf.randomNormal([9, 3], 0, 1, 'float32', 5)] as tf.Tensor2D[];
  const fm = tf.variableGrads(() => net.flowMatchingLoss(t!, x!, u!), net.variables);
  const all = [...layer, fm.value, ...net.variables.map((v) => fm.grads[v.name]!)];
  const out = await Promise.all(all.map(async (g) => Array.from(await g.data())));
  tf.dispose([...all, h, dy, t!, x!, u!, ...Object.values(fm.grads)]);
  net.dispose();
  return out;
}

describe('layer derivatives on webgpu (WGSL printed from the symbolic derivatives; Dawn, lavapipe in CI)', () => {
  it('every kind: layerGrads and the fused FM loss’s gradients match wasm to float32 round-off, leaving no buffers', async (ctx) => {
    await useBackend('wasm');
    const want = await Promise.all(KINDS.map(gradients));
    if (!(await onWebGPU(() => ctx.skip()))) return;
    const got: number[][][] = [];
    for (const kind of KINDS) got.push(await gradients(kind));
    const buffers = tf.engine().backend.numDataIds();
    for (const kind of KINDS) await gradients(kind);
    expect(tf.engine().backend.numDataIds() - buffers).toBe(0);
    KINDS.forEach((kind, k) => got[k]!.forEach((g, i) => expect(rel(g, want[k]![i]!), `${kind} gradient ${i}`).toBeLessThan(1e-5)));
  });
});
