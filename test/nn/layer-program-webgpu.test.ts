import { afterAll, describe, expect, it } from 'vitest';
import { ODENet, tf, useBackend } from '../../src/index.js';
import type { ActivationName, LayerKind } from '../../src/index.js';
import type { AugmentedLayout } from '../../src/nn/fused-field.js';
import { KernelRunner, MAX_WORKGROUPS_PER_DIMENSION } from '../../src/backend/kernels.js';
import { onWebGPU, rel } from '../webgpu-helpers.js';

afterAll(async () => {
  await useBackend('wasm');
});

const D = 2;
const C = 2;
const B = 37;

const widthOf = (l: AugmentedLayout) => D + 1 + (l.regs ? 2 : 0) + (l.trace === 'hutchinson' ? D : 0) + (l.context ?? 0);

/** The fused op's value and its gradients (Y's and every variable's) for a weighted sum. */
async function valueAndGrads(net: ODENet, layout: AugmentedLayout, rows = B): Promise<number[]> {
  const y = tf.randomNormal([widthOf(layout), rows], 0, 1, 'float32', 11) as tf.Tensor2D;
  const w = tf.randomNormal([widthOf(layout), rows], 0, 1, 'float32', 12);
  const v = net.augmented(0.7, y, layout);
  const g = tf.grads((yy: tf.Tensor, ..._vs: tf.Tensor[]) => tf.sum(tf.mul(net.augmented(0.7, yy as tf.Tensor2D, layout), w)))([y, ...net.variables]);
  const out = (await Promise.all([v, ...g].map((t) => t.data()))).flatMap((a) => Array.from(a));
  tf.dispose([y, w, v, ...g]);
  return out;
}



/** WebGPU programs dispatched by one call of fn (its outputs read and disposed); `only`: those whose shader key starts so. */
async function dispatches(fn: () => tf.Tensor | tf.Tensor[], only = ''): Promise<number> {
  const backend = tf.engine().backend as unknown as { runWebGPUProgram: (...args: unknown[]) => unknown };
  const orig = backend.runWebGPUProgram;
  let n = 0;
  backend.runWebGPUProgram = (...args: unknown[]) => ((args[0] as { shaderKey: string }).shaderKey.startsWith(only) && n++, orig.apply(backend, args));
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

  it('a batch of several row chunks (the weight gradients\' partial sums) matches wasm, both trace modes, with context', async (ctx) => {
    // 600 rows: ten chunks of the weight-gradient partial sums (64 rows each at these widths), the last one part full.
    const cases: [ODENet, AugmentedLayout][] = [
      [new ODENet({ dim: D, hidden: [24, 24], layer: 'concatsquash', activation: 'tanh', seed: 50 }), { dim: D, regs: true, trace: 'exact' }],
      [new ODENet({ dim: D, hidden: [24], layer: 'concat', activation: 'swish', contextDim: C, seed: 51 }), { dim: D, regs: false, trace: 'hutchinson', context: C }],
    ];
    await useBackend('wasm');
    const reference = [];
    for (const [net, layout] of cases) reference.push(await valueAndGrads(net, layout, 600));
    if (!(await onWebGPU(() => ctx.skip()))) return;
    for (const [i, [net, layout]] of cases.entries()) expect(rel(await valueAndGrads(net, layout, 600), reference[i]!), `case ${i}`).toBeLessThan(1e-5);
    await useBackend('wasm');
    for (const [net] of cases) net.dispose();
  }, 120_000);

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

  it('a packed output handed out in parts (buffer copies on webgpu, slices elsewhere) gives its slices, with no dispatch and no leak', async (ctx) => {
    const shapes = [[3, 5], [5], [1, 5], [1, 1]];
    const run = () => {
      const x = tf.tidy(() => tf.mul(tf.range(0, 36), 0.5));
      const r = KernelRunner.create()!;
      const packed = r.add(x, 1);
      let parts: tf.Tensor[] = [];
      const n = dispatches(() => {
        parts = r.parts(packed, shapes).map((p) => r.keep(p));
        return tf.tensor([0]);
      });
      // The runner frees the packed buffer at once, before the queue runs the copies.
      r.free();
      x.dispose();
      return { parts, n };
    };
    const values = async (parts: tf.Tensor[]) => (await Promise.all(parts.map((p) => p.data()))).flatMap((a) => Array.from(a));
    await useBackend('wasm');
    const reference = run();
    expect(reference.parts.map((p) => p.shape)).toEqual(shapes);
    expect(await values(reference.parts)).toEqual(Array.from({ length: 26 }, (_, i) => i * 0.5 + 1));
    const want = await values(reference.parts);
    tf.dispose(reference.parts);
    if (!(await onWebGPU(() => ctx.skip()))) return;
    const gpu = run();
    expect(await gpu.n).toBe(0);
    expect(gpu.parts.map((p) => p.shape)).toEqual(shapes);
    expect(await values(gpu.parts)).toEqual(want);
    tf.dispose(gpu.parts);
    const before = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
    for (let k = 0; k < 3; k++) {
      const again = run();
      await again.n;
      await values(again.parts);
      tf.dispose(again.parts);
    }
    expect([tf.memory().numTensors, tf.engine().backend.numDataIds()]).toEqual(before);
    await useBackend('wasm');
  });

  it('an evaluation is one program per layer and a read-out; with the gradient, a hidden layer is one forward program, one backward program (back and weight-gradient partials) and one for its variables, at any batch size', async (ctx) => {
    if (!(await onWebGPU(() => ctx.skip()))) return;
    const count = async (hidden: number[], activation: ActivationName, trace: 'exact' | 'hutchinson', contextDim = 0, rows = B) => {
      const net = new ODENet({ dim: D, hidden, activation, seed: 5, contextDim });
      const layout: AugmentedLayout = { dim: D, regs: false, trace, ...(contextDim > 0 ? { context: contextDim } : {}) };
      const y = tf.randomNormal([widthOf(layout), rows], 0, 1, 'float32', 13) as tf.Tensor2D;
      const grad = () => tf.grads((yy: tf.Tensor, ..._vs: tf.Tensor[]) => tf.sum(net.augmented(0.3, yy as tf.Tensor2D, layout)))([y, ...net.variables]);
      await dispatches(grad); // compiles the programs
      const forward = await dispatches(() => net.augmented(0.3, y, layout));
      const withGrad = await dispatches(grad);
      // The op's own programs (biflow's), without the weighted sum and its gradient (on the GPU from 1 000 elements).
      const op = await dispatches(grad, 'biflow_');
      tf.dispose(y);
      net.dispose();
      return { forward, grad: withGrad, op };
    };
    for (const trace of ['exact', 'hutchinson'] as const) {
      const [one, three] = [await count([64], 'tanh', trace), await count([64, 64, 64], 'tanh', trace)];
      // Hidden [64, 64, 64]: four layers and the read-out (22 before, 37 before the layer programs).
      expect(three.forward, trace).toBe(5);
      expect(three.forward - one.forward, trace).toBe(2);
      // swish/elu: a is one more part of the pack, not one more program.
      const [eluOne, eluTwo] = [await count([32], 'elu', trace), await count([32, 32], 'elu', trace)];
      expect(eluTwo.forward - eluOne.forward, trace).toBe(1);
      // Per hidden layer with the gradient: forward 1; backward 1 (the back role and the weight-gradient partials) and
      // 1 for the variables' gradients (concatsquash's W, b, w_g, b_g, w_b in one packed output, split by buffer copies).
      // 8 before (a weight-gradient program, one per variable, a back program; a chunk sum per layer at several chunks).
      expect((three.grad - one.grad) / 2, trace).toBe(1 + 1 + 1);
      // Hidden [64, 64, 64]: 36 before (41 at B = 10 000); the forward's 5, the backward's 10 (a seed, 2 per layer,
      // one writing Ȳ) and the weighted sum's 1.
      expect(three.grad, trace).toBeLessThanOrEqual(16);
      // The op: forward 5, backward 10. At 600 rows, seven or eight chunks of partial sums, which the variables' program sums:
      // no more dispatches than at 37 rows (before, one chunk sum more per layer).
      expect(three.op, trace).toBe(15);
      expect((await count([64, 64, 64], 'tanh', trace, 0, 600)).op, trace).toBe(15);
      // Conditioned: per layer W̄_c = cᵀ·ā (a slice of G and a product) and c̄ += ā·W_cᵀ by one program.
      const [cOne, cThree] = [await count([64], 'tanh', trace, C), await count([64, 64, 64], 'tanh', trace, C)];
      // (A conditioned hidden layer binds b and its time variables as one packed vector: one concat more in its forward.)
      expect((cThree.grad - cOne.grad) / 2, trace).toBe(3 + 1 + 3);
      console.info(`dispatches per evaluation (${trace}, hidden [64, 64, 64]): forward ${three.forward}, value + gradient ${three.grad}; per hidden layer ${(three.forward - one.forward) / 2}, ${(three.grad - one.grad) / 2}`);
    }
    await useBackend('wasm');
  }, 300_000);
});
