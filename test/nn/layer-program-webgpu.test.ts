import { afterAll, describe, expect, it } from 'vitest';
import { ODENet, tf, useBackend } from '../../src/index.js';
import type { ActivationName, LayerKind } from '../../src/index.js';
import type { AugmentedLayout } from '../../src/nn/fused-field.js';
import { KernelRunner, MAX_WORKGROUPS_PER_DIMENSION } from '../../src/backend/kernels.js';
import { JETS } from '../../src/nn/layer-kernels.js';
import { gpuActivationBack } from '../../src/nn/layer-program.js';
import { onWebGPU, rel } from '../webgpu-helpers.js';

afterAll(async () => {
  await useBackend('wasm');
});

const D = 2;
const C = 2;
const B = 37;

const widthOf = (l: AugmentedLayout) => D + 1 + (l.regs ? 2 : 0) + (l.trace === 'hutchinson' ? D : 0) + (l.context ?? 0);

/** The fused op's value and its gradients (Y's and every variable's) for a weighted sum. */
async function valueAndGrads(net: ODENet, layout: AugmentedLayout): Promise<number[]> {
  const y = tf.randomNormal([widthOf(layout), B], 0, 1, 'float32', 11) as tf.Tensor2D;
  const w = tf.randomNormal([widthOf(layout), B], 0, 1, 'float32', 12);
  const v = net.augmented(0.7, y, layout);
  const g = tf.grads((yy: tf.Tensor, ..._vs: tf.Tensor[]) => tf.sum(tf.mul(net.augmented(0.7, yy as tf.Tensor2D, layout), w)))([y, ...net.variables]);
  const out = (await Promise.all([v, ...g].map((t) => t.data()))).flatMap((a) => Array.from(a));
  tf.dispose([y, w, v, ...g]);
  return out;
}



/** WebGPU programs dispatched by one call of fn (its outputs read and disposed). */
async function dispatches(fn: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const backend = tf.engine().backend as unknown as { runWebGPUProgram: (...args: unknown[]) => unknown };
  const orig = backend.runWebGPUProgram;
  let n = 0;
  backend.runWebGPUProgram = (...args: unknown[]) => (n++, orig.apply(backend, args));
  try {
    const out = [fn()].flat();
    await Promise.all(out.map((t) => t.data()));
    tf.dispose(out);
    return n;
  } finally {
    backend.runWebGPUProgram = orig;
  }
}

describe('the ODE-net layers as fused WGSL programs (webgpu on Dawn; lavapipe in CI)', () => {
  it('every layer kind, with context, exact trace and Hutchinson, matches wasm to float32 round-off and leaks nothing', async (ctx) => {
    const kinds: [LayerKind, ActivationName][] = [['concatsquash', 'tanh'], ['concat', 'softplus'], ['squash', 'elu'], ['ignore', 'sigmoid'], ['hyper', 'swish']];
    const cases: [ODENet, AugmentedLayout][] = kinds.flatMap(([layer, activation], i) => [
      [new ODENet({ dim: D, hidden: [20, 17], layer, activation, contextDim: C, seed: 20 + i }), { dim: D, regs: true, trace: 'exact', context: C }],
      [new ODENet({ dim: D, hidden: [20, 17], layer, activation, contextDim: C, seed: 30 + i }), { dim: D, regs: false, trace: 'hutchinson', context: C }],
    ]);
    cases.push([new ODENet({ dim: D, hidden: [18], layer: 'concatsquash', seed: 40 }), { dim: D, regs: false, trace: 'exact' }]);
    await useBackend('wasm');
    const reference = [];
    for (const [net, layout] of cases) reference.push(await valueAndGrads(net, layout));
    if (!(await onWebGPU(() => ctx.skip()))) return;
    for (const [i, [net, layout]] of cases.entries()) {
      const gpu = await valueAndGrads(net, layout);
      expect(rel(gpu, reference[i]!), `case ${i} (${layout.trace})`).toBeLessThan(1e-5);
    }
    const buffers = () => tf.engine().backend.numDataIds();
    const before = [tf.memory().numTensors, buffers()];
    for (let k = 0; k < 3; k++) for (const [net, layout] of cases.slice(0, 2)) await valueAndGrads(net, layout);
    expect([tf.memory().numTensors, buffers()]).toEqual(before);
    await useBackend('wasm');
    for (const [net] of cases) net.dispose();
  }, 180_000);

  it('the reverse through each activation and K tangent blocks is one program that matches the composed kernels', async (ctx) => {
    if (!(await onWebGPU(() => ctx.skip()))) return;
    const [rows, n, K] = [13, 9, 3];
    for (const name of Object.keys(JETS) as ActivationName[]) {
      const r = KernelRunner.create()!;
      try {
        const mk = (m: number, s: number) => r.constant(Float32Array.from({ length: m * n }, (_, i) => 2 * Math.sin(0.37 * i + s)), [m, n]);
        const [hBar, uBar, ad, a] = [mk(rows, 1), mk(K * rows, 2), mk(K * rows, 3), mk(rows, 4)];
        const { h, d1 } = JETS[name].jet(r, a!);
        let fused: tf.TensorInfo | null = null;
        const count = await dispatches(() => {
          fused = gpuActivationBack(r, name, hBar!, uBar!, ad!, h, d1, JETS[name].needsInput ? a! : null);
          return tf.tensor([0]);
        });
        const d1Bar = r.sum(r.reshape(r.mul(uBar!, ad!), [K, rows, n]), 0);
        const composed = JETS[name].back(r, hBar!, d1Bar, a!, h, d1);
        const [x, y] = await Promise.all([r.keep(fused!), r.keep(composed)].map(async (t) => {
          const v = Array.from(await t.data());
          t.dispose();
          return v;
        }));
        expect(count, name).toBe(1);
        expect(rel(x!, y!), name).toBeLessThan(1e-5);
      } finally {
        r.free();
      }
    }
    await useBackend('wasm');
  }, 60_000);

  it('a program wider than WebGPU guarantees per dimension is not dispatched: null, so the caller takes its kernel path', async (ctx) => {
    if (!(await onWebGPU(() => ctx.skip()))) return;
    const r = KernelRunner.create()!;
    try {
      const wide = { dispatch: [MAX_WORKGROUPS_PER_DIMENSION + 1, 1, 1] };
      let out: tf.TensorInfo | null | undefined;
      expect(await dispatches(() => {
        out = r.program(wide, []);
        return tf.tensor([0]);
      })).toBe(0);
      expect(out).toBeNull();
    } finally {
      r.free();
    }
    await useBackend('wasm');
  });

  it('a hidden layer costs four dispatches per evaluation (h, σ′, ȧ, ȧ⊙σ′), five where σ″ reads a', async (ctx) => {
    if (!(await onWebGPU(() => ctx.skip()))) return;
    const count = async (hidden: number[], activation: ActivationName, trace: 'exact' | 'hutchinson') => {
      const net = new ODENet({ dim: D, hidden, activation, seed: 5 });
      const layout: AugmentedLayout = { dim: D, regs: false, trace };
      const y = tf.randomNormal([widthOf(layout), B], 0, 1, 'float32', 13) as tf.Tensor2D;
      await dispatches(() => net.augmented(0.3, y, layout)); // compiles the programs
      const forward = await dispatches(() => net.augmented(0.3, y, layout));
      const grad = await dispatches(() => tf.grads((yy: tf.Tensor, ..._vs: tf.Tensor[]) => tf.sum(net.augmented(0.3, yy as tf.Tensor2D, layout)))([y, ...net.variables]));
      tf.dispose(y);
      net.dispose();
      return { forward, grad };
    };
    for (const trace of ['exact', 'hutchinson'] as const) {
      const [one, three] = [await count([64], 'tanh', trace), await count([64, 64, 64], 'tanh', trace)];
      expect(three.forward - one.forward, trace).toBe(2 * 4);
      const [eluOne, eluTwo] = [await count([32], 'elu', trace), await count([32, 32], 'elu', trace)];
      expect(eluTwo.forward - eluOne.forward, trace).toBe(5);
      // Per evaluation at dim 2, hidden [64, 64, 64] (concatsquash, tanh): 37 before the layer programs.
      expect(three.forward, trace).toBeLessThanOrEqual(22);
      // The backward pass's reverse through the activation and the tangent blocks is one program (34 and 32 before).
      expect((three.grad - one.grad) / 2, trace).toBeLessThanOrEqual(31);
      console.info(`dispatches per evaluation (${trace}, hidden [64, 64, 64]): forward ${three.forward}, value + gradient ${three.grad}; per hidden layer ${(three.forward - one.forward) / 2}, ${(three.grad - one.grad) / 2}`);
    }
    await useBackend('wasm');
  }, 180_000);
});
