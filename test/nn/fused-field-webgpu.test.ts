import { afterAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, ODENet, odeint, tf, useBackend } from '../../src/index.js';
import type { ActivationName } from '../../src/index.js';
import { KernelRunner } from '../../src/backend/kernels.js';
import { JETS } from '../../src/nn/layer-kernels.js';
import type { AugmentedLayout } from '../../src/nn/fused-field.js';
import { CNF_DYNAMICS } from '../../src/nn/fused-field.js';
import { onWebGPU, rel } from '../webgpu-helpers.js';

afterAll(async () => {
  await useBackend('wasm');
});

const B = 33;
const D = 3;
const C = 2;

/** The fused op's value and its gradient (Y's and every variable's) for a weighted sum, read asynchronously. */
async function valueAndGrads(net: ODENet, layout: AugmentedLayout): Promise<{ value: number[]; grads: number[] }> {
  const width = D + 1 + (layout.regs ? 2 : 0) + (layout.trace === 'hutchinson' ? D : 0) + (layout.context ?? 0);
  const y = tf.randomNormal([width, B], 0, 1, 'float32', 5) as tf.Tensor2D;
  const w = tf.randomNormal([width, B], 0, 1, 'float32', 6);
  const v = net.augmented(0.3, y, layout);
  const g = tf.grads((yy: tf.Tensor, ..._vs: tf.Tensor[]) => tf.sum(tf.mul(net.augmented(0.3, yy as tf.Tensor2D, layout), w)))([y, ...net.variables]);
  const value = Array.from(await v.data());
  const grads = (await Promise.all(g.map((t) => t.data()))).flatMap((a) => Array.from(a));
  tf.dispose([y, w, v, ...g]);
  return { value, grads };
}



describe('the fused CNF dynamics on webgpu (Dawn; lavapipe in CI)', () => {
  it('the registered webgpu kernel gives the wasm value and gradients to float32 round-off, with and without context, and leaks no buffers', async (ctx) => {
    const cases: [ODENet, AugmentedLayout][] = [
      [new ODENet({ dim: D, hidden: [16, 16], seed: 2 }), { dim: D, regs: true, trace: 'exact' }],
      [new ODENet({ dim: D, hidden: [16], layer: 'hyper', activation: 'swish', seed: 3 }), { dim: D, regs: false, trace: 'hutchinson' }],
      [new ODENet({ dim: D, hidden: [16], contextDim: C, seed: 4 }), { dim: D, regs: false, trace: 'hutchinson', context: C }],
    ];
    await useBackend('wasm');
    const reference = [];
    for (const [net, layout] of cases) reference.push(await valueAndGrads(net, layout));
    if (!(await onWebGPU(() => ctx.skip()))) return;
    expect(tf.getBackend()).toBe('webgpu');
    expect(tf.getKernel(CNF_DYNAMICS, 'webgpu')).toBeDefined();
    for (const [i, [net, layout]] of cases.entries()) {
      const gpu = await valueAndGrads(net, layout);
      expect(rel(gpu.value, reference[i]!.value)).toBeLessThan(1e-5);
      expect(rel(gpu.grads, reference[i]!.grads)).toBeLessThan(1e-5);
    }
    const buffers = () => tf.engine().backend.numDataIds();
    const before = [tf.memory().numTensors, buffers()];
    for (let k = 0; k < 3; k++) await valueAndGrads(cases[0]![0], cases[0]![1]);
    expect([tf.memory().numTensors, buffers()]).toEqual(before);
    await useBackend('wasm');
    for (const [net] of cases) net.dispose();
  }, 120_000);

  it('every activation’s jet and its reverse, printed as WGSL from the one definition, are one dispatch per quantity and match wasm', async (ctx) => {
    const a = Array.from({ length: 40 }, (_, i) => -4 + 0.2 * i + 0.01);
    const [hBar, d1Bar] = [a.map((v) => Math.sin(3 * v)), a.map((v) => Math.cos(2 * v))];
    const run = async (name: ActivationName) => {
      const r = KernelRunner.create()!;
      const backend = tf.engine().backend as unknown as { runWebGPUProgram?: (...args: unknown[]) => unknown };
      let dispatches = 0;
      const orig = backend.runWebGPUProgram;
      if (orig) backend.runWebGPUProgram = (...args: unknown[]) => (dispatches++, orig.apply(backend, args));
      try {
        const [x, hb, db] = [a, hBar, d1Bar].map((v) => r.constant(Float32Array.from(v), [4, 10]));
        const { h, d1 } = JETS[name].jet(r, x!);
        const jetDispatches = dispatches;
        const aBar = JETS[name].back(r, hb!, db!, x!, h, d1);
        const kept = [h, d1, aBar].map((t) => r.keep(t));
        const out = await Promise.all(kept.map((t) => t.data()));
        tf.dispose(kept);
        return { values: out.flatMap((v) => Array.from(v)), jetDispatches, backDispatches: dispatches - jetDispatches };
      } finally {
        if (orig) backend.runWebGPUProgram = orig;
        r.free();
      }
    };
    const names = Object.keys(ACTIVATIONS) as ActivationName[];
    await useBackend('wasm');
    const reference = [];
    for (const name of names) reference.push(await run(name));
    if (!(await onWebGPU(() => ctx.skip()))) return;
    for (const [i, name] of names.entries()) {
      const gpu = await run(name);
      expect(rel(gpu.values, reference[i]!.values), name).toBeLessThan(1e-5);
      expect([gpu.jetDispatches, gpu.backDispatches], name).toEqual([2, 1]);
    }
    await useBackend('wasm');
  }, 120_000);

  it('a fixed-step (rk4) solve of the conditioned dynamics and its gradients (the context rows’ included) match wasm', async (ctx) => {
    // A CNF's passes read one flag per row synchronously (webgpu needs the async forms): the solve itself has no read.
    const net = new ODENet({ dim: D, hidden: [16], contextDim: C, seed: 7 });
    const layout: AugmentedLayout = { dim: D, regs: false, trace: 'exact', context: C };
    const run = async () => {
      const y0 = tf.concat([tf.randomNormal([D, B], 0, 1, 'float32', 8), tf.zeros([1, B]), tf.randomNormal([C, B], 0, 1, 'float32', 9)], 0);
      const w = tf.randomNormal([D + 1 + C, B], 0, 1, 'float32', 10);
      const field = (t: number, y: tf.Tensor) => net.augmented(t, y as tf.Tensor2D, layout);
      const g = tf.grads((y: tf.Tensor, ..._vs: tf.Tensor[]) => {
        const sol = odeint(field, y, [0, 0.5], { method: 'rk4', stepSize: 0.1, gradient: 'direct' });
        return tf.sum(tf.mul(sol.ys[1] as tf.Tensor, w));
      })([y0, ...net.variables]);
      const out = (await Promise.all(g.map((t) => t.data()))).flatMap((a) => Array.from(a));
      tf.dispose([y0, w, ...g]);
      return out;
    };
    await useBackend('wasm');
    const reference = await run();
    if (!(await onWebGPU(() => ctx.skip()))) return;
    expect(rel(await run(), reference)).toBeLessThan(1e-5);
    await useBackend('wasm');
    net.dispose();
  }, 120_000);
});
