import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, LAYER_KINDS, ODENet, tf, useBackend } from '../../src/index.js';
import type { ActivationName, LayerKind } from '../../src/index.js';
import { augmentedWidth, CNF_DYNAMICS, CNF_DYNAMICS_FORWARD, CNF_DYNAMICS_GRAD, CNF_DYNAMICS_NESTED, PACK_LIMIT, splitKernel } from '../../src/nn/fused-field.js';
import type { AugmentedLayout } from '../../src/nn/fused-field.js';
import { leaks, maxDiff, values } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const B = 5;
const D = 3;

/** A state tensor [z; L; (E; F); (ε)] ([width, B]) with random entries, and random cotangent weights. */
function inputs(layout: AugmentedLayout, seed: number): { y: tf.Tensor2D; w: tf.Tensor2D } {
  const width = augmentedWidth(layout);
  return tf.tidy(() => {
    const y = tf.randomNormal([width, B], 0, 1, 'float32', seed) as tf.Tensor2D;
    const w = tf.randomNormal([width, B], 0, 1, 'float32', seed + 1) as tf.Tensor2D;
    return { y, w };
  });
}

/** The gradient of Σ w ⊙ dY/dt with respect to Y and every variable, flattened. */
function gradient(net: ODENet, layout: AugmentedLayout, y: tf.Tensor2D, w: tf.Tensor2D, fused: boolean): number[] {
  return tf.tidy(() => {
    const g = tf.grads((yy: tf.Tensor, ..._vs: tf.Tensor[]) => tf.sum(tf.mul(net.augmented(0.3, yy as tf.Tensor2D, layout, fused), w)))([y, ...net.variables]);
    return g.flatMap((t) => values(t));
  });
}

const relDiff = (a: number[], b: number[]) => maxDiff(a, b) / Math.max(1e-6, ...b.map(Math.abs));

const layouts: AugmentedLayout[] = [
  { dim: D, regs: false, trace: 'hutchinson' },
  { dim: D, regs: true, trace: 'hutchinson' },
  { dim: D, regs: false, trace: 'exact' },
  { dim: D, regs: true, trace: 'exact' },
];

const cases: [LayerKind, ActivationName][] = [
  ...LAYER_KINDS.map((k) => [k, 'tanh'] as [LayerKind, ActivationName]),
  ...(Object.keys(ACTIVATIONS) as ActivationName[]).filter((a) => a !== 'tanh').map((a) => ['concatsquash', a] as [LayerKind, ActivationName]),
];

/** The fused op's value and gradient against the taped reference's, for every layout (with `context` rows of c where given). */
function matchesTaped(layer: LayerKind, activation: ActivationName, seed: number, context = 0): void {
  const net = new ODENet({ dim: D, hidden: [7, 6], layer, activation, contextDim: context, seed: 4 });
  layouts.map((l) => ({ ...l, context })).forEach((layout, i) => {
    const { y, w } = inputs(layout, seed + i);
    const what = `${layer}/${activation} ${layout.trace} regs=${layout.regs} context=${context}`;
    const fusedValue = tf.tidy(() => values(net.augmented(0.3, y, layout, true)));
    const tapedValue = tf.tidy(() => values(net.augmented(0.3, y, layout, false)));
    expect(relDiff(fusedValue, tapedValue), what).toBeLessThan(1e-5);
    expect(relDiff(gradient(net, layout, y, w, true), gradient(net, layout, y, w, false)), what).toBeLessThan(1e-4);
    tf.dispose([y, w]);
  });
  net.dispose();
}

describe('closed-form augmented CNF dynamics (fused op)', () => {
  it.each(cases)('%s / %s: value and gradient equal the taped reference (both traces, with and without RNODE terms)', (layer, activation) => {
    matchesTaped(layer, activation, 10);
  });

  it.each(LAYER_KINDS)('%s conditioned on a context (2 rows of c in the state): value and gradient, c’s included, equal the taped reference', (layer) => {
    matchesTaped(layer, 'tanh', 110, 2);
  });

  it('the kernel-only path (a backend without host buffers: cpu) agrees with the taped reference too', async () => {
    await useBackend('cpu');
    try {
      matchesTaped('concatsquash', 'tanh', 50);
      matchesTaped('hyper', 'swish', 60);
      matchesTaped('concat', 'elu', 70, 2);
    } finally {
      await useBackend('wasm');
    }
  });

  it('the exact trace is the trace of the numerical Jacobian, and ‖∂f/∂z‖²_F its Frobenius norm', () => {
    const net = new ODENet({ dim: D, hidden: [8], seed: 2 });
    const layout: AugmentedLayout = { dim: D, regs: true, trace: 'exact' };
    const { y, w } = inputs(layout, 3);
    const out = tf.tidy(() => net.augmented(0.2, y, layout).arraySync());
    const h = 1e-2;
    const rows = y.arraySync();
    const z = Array.from({ length: B }, (_, b) => rows.slice(0, D).map((r) => r[b]!));
    for (let b = 0; b < B; b++) {
      let trace = 0;
      let frob = 0;
      for (let j = 0; j < D; j++) {
        const shifted = (d: number) => tf.tidy(() => net.apply(0.2, tf.tensor2d([z[b]!.map((v, k) => (k === j ? v + d : v))])).arraySync()[0]!);
        const [p, m] = [shifted(h), shifted(-h)];
        for (let i = 0; i < D; i++) {
          const J = (p[i]! - m[i]!) / (2 * h);
          if (i === j) trace += J;
          frob += J * J;
        }
      }
      expect(Math.abs(out[D]![b]! - trace)).toBeLessThan(2e-3);
      expect(Math.abs(out[D + 2]![b]! - frob) / frob).toBeLessThan(2e-3);
    }
    tf.dispose([y, w]);
    net.dispose();
  });

  it('a gradient of its gradient (through the taped fallback) equals the taped reference’s', () => {
    const net = new ODENet({ dim: D, hidden: [6], seed: 5 });
    const layout: AugmentedLayout = { dim: D, regs: false, trace: 'hutchinson' };
    const { y, w } = inputs(layout, 20);
    const second = (fused: boolean) => tf.tidy(() => values(tf.grad((yy: tf.Tensor) => {
      const g = tf.grad((y2: tf.Tensor) => tf.sum(tf.mul(net.augmented(0.1, y2 as tf.Tensor2D, layout, fused), w)))(yy);
      return tf.sum(tf.square(g));
    })(y)));
    const ref = second(false);
    expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(1e-3);
    expect(relDiff(second(true), ref)).toBeLessThan(1e-4);
    tf.dispose([y, w]);
    net.dispose();
  });

  it('frees what a backward pass that never runs would have read as soon as its tape is done', () => {
    const net = new ODENet({ dim: D, hidden: [8], seed: 6 });
    const layout: AugmentedLayout = { dim: D, regs: false, trace: 'hutchinson' };
    const { y, w } = inputs(layout, 40);
    const buffers = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
    const before = buffers();
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(() => {
        net.augmented(0.2, y, layout); // taped, but the loss does not use it: its backward never runs
        return tf.sum(tf.mul(net.augmented(0.3, y, layout), w)) as tf.Scalar;
      }, net.variables);
      tf.dispose([value, ...Object.values(grads)]);
    }
    // The engine's tape owned what the unused evaluations saved and freed it when it was done.
    expect(buffers()).toBe(before);
    tf.dispose([y, w]);
    net.dispose();
  });

  it('a variable assigned after an evaluation whose backward pass never ran keeps its new value (ignore layers save W itself)', () => {
    const net = new ODENet({ dim: D, hidden: [4], layer: 'ignore', seed: 1 });
    const layout: AugmentedLayout = { dim: D, regs: false, trace: 'hutchinson' };
    const { y, w } = inputs(layout, 70);
    const W = net.variables[0]!;
    const { value, grads } = tf.variableGrads(() => {
      net.augmented(0.2, y, layout); // taped, never backpropagated
      return tf.sum(tf.square(W)) as tf.Scalar;
    }, net.variables);
    tf.dispose([value, ...Object.values(grads)]);
    tf.tidy(() => W.assign(tf.onesLike(W))); // an optimizer step
    tf.tidy(() => {
      net.augmented(0.1, y, layout);
    });
    expect(values(W).every((v) => v === 1)).toBe(true);
    tf.dispose([y, w]);
    net.dispose();
  });

  it('two backward passes through one evaluation (a gradient that also uses the value) equal the taped reference’s', () => {
    const net = new ODENet({ dim: D, hidden: [6], seed: 1 });
    const layout: AugmentedLayout = { dim: D, regs: false, trace: 'hutchinson' };
    const { y, w } = inputs(layout, 80);
    const run = (fused: boolean) => tf.tidy(() => values(tf.grad((yy: tf.Tensor) => {
      const inner = tf.valueAndGrad((y2: tf.Tensor) => tf.sum(tf.mul(net.augmented(0.1, y2 as tf.Tensor2D, layout, fused), w)) as tf.Scalar)(yy);
      return tf.add(inner.value, tf.sum(tf.square(inner.grad)));
    })(y)));
    expect(relDiff(run(true), run(false))).toBeLessThan(1e-4);
    tf.dispose([y, w]);
    net.dispose();
  });

  it('is registered kernels: its arithmetic, the taped op with a registered gradient (run once per taped evaluation), and the backward pass', () => {
    const net = new ODENet({ dim: D, hidden: [6], seed: 2 });
    const layout: AugmentedLayout = { dim: D, regs: true, trace: 'exact' };
    const { y, w } = inputs(layout, 90);
    for (const backend of ['wasm', 'cpu', 'webgpu']) {
      expect(tf.getKernel(CNF_DYNAMICS_FORWARD, backend), backend).toBeDefined();
      expect(tf.getKernel(CNF_DYNAMICS, backend), backend).toBeDefined();
      expect(tf.getKernel(CNF_DYNAMICS_GRAD, backend), backend).toBeDefined();
    }
    expect(tf.getGradient(CNF_DYNAMICS)?.inputsToSave).toEqual(['packed']);
    expect(tf.getGradient(CNF_DYNAMICS_NESTED)?.saveAllInputs).toBe(true);
    const kernelsOf = (fn: () => void) => {
      let names: string[] = [];
      return tf.profile(fn).then((p) => (names = p.kernels.map((k) => k.name))).then(() => names);
    };
    return kernelsOf(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.augmented(0.3, y, layout), w)) as tf.Scalar, net.variables);
      tf.dispose([value, ...Object.values(grads)]);
    }).then((names) => {
      expect(names.filter((n) => n === CNF_DYNAMICS)).toHaveLength(1);
      expect(names.filter((n) => n === CNF_DYNAMICS_GRAD)).toHaveLength(1);
      tf.dispose([y, w]);
      net.dispose();
    });
  });

  it('a taped evaluation saves one tensor (one engine clone), not one per variable and intermediate; nested tapes keep each', async () => {
    // The engine clones every saved tensor through an Identity kernel and a tape node of its own.
    const net = new ODENet({ dim: D, hidden: [6, 6], seed: 3 });
    const layout: AugmentedLayout = { dim: D, regs: true, trace: 'hutchinson' };
    const { y, w } = inputs(layout, 95);
    // The op runs first; the clones it saves are listed before it (a kernel is listed when it ends).
    const clones = async (fn: () => void) => {
      const names = (await tf.profile(fn)).kernels.map((k) => k.name);
      const op = names.findIndex((n) => n === CNF_DYNAMICS || n === CNF_DYNAMICS_NESTED);
      expect(op).toBeGreaterThan(-1);
      return names.slice(0, op).filter((n) => n === 'Identity').length;
    };
    const loss = (yy: tf.Tensor) => tf.sum(tf.mul(net.augmented(0.3, yy as tf.Tensor2D, layout), w)) as tf.Scalar;
    expect(await clones(() => {
      const { value, grads } = tf.variableGrads(() => loss(y), net.variables);
      tf.dispose([value, ...Object.values(grads)]);
    })).toBe(1);
    // Inside another tape (a gradient of the gradient may follow): Y, the 3 × 5 variables and the intermediates.
    const nested = await clones(() => {
      tf.dispose(tf.grad((yy: tf.Tensor) => tf.sum(tf.square(tf.grad(loss)(yy))))(y));
    });
    expect(nested).toBeGreaterThan(1 + 3 * 5);
    tf.dispose([y, w]);
    net.dispose();
  });

  it('past PACK_LIMIT floats a taped evaluation hands its intermediates to the tape one by one (no copies; Y and the variables packed), with the same gradient and no leaks', async () => {
    // 2 × 128 units: σ′, ȧ and h of both layers for 400 rows pass the limit.
    const big = 2 * 3 * 128 * 400;
    expect(big).toBeGreaterThan(PACK_LIMIT);
    const net = new ODENet({ dim: 2, hidden: [128, 128], seed: 5 });
    const layout: AugmentedLayout = { dim: 2, regs: true, trace: 'hutchinson' };
    const width = augmentedWidth(layout);
    const [y, w] = tf.tidy(() => [tf.randomNormal([width, 400], 0, 1, 'float32', 7), tf.randomNormal([width, 400], 0, 1, 'float32', 8)] as tf.Tensor2D[]);
    const names = (await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.augmented(0.3, y!, layout), w!)) as tf.Scalar, net.variables);
      tf.dispose([value, ...Object.values(grads)]);
    })).kernels.map((k) => k.name);
    // σ′, ȧ, h of the 2 hidden layers, f and its tangents: 8 intermediates, and the packed Y and variables.
    const op = names.indexOf(splitKernel(8));
    expect(op).toBeGreaterThan(-1);
    expect(names).not.toContain(CNF_DYNAMICS);
    expect(names).not.toContain(CNF_DYNAMICS_NESTED);
    expect(names.slice(0, op).filter((n) => n === 'Identity')).toHaveLength(1 + 8);
    expect(relDiff(gradient(net, layout, y!, w!, true), gradient(net, layout, y!, w!, false))).toBeLessThan(1e-4);
    const buffers = (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
    expect(leaks(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.augmented(0.3, y!, layout), w!)) as tf.Scalar, net.variables);
      tf.dispose([value, ...Object.values(grads)]);
    })).toEqual([0, 0, 0]);
    expect((tf.engine().backend as unknown as { numDataIds(): number }).numDataIds()).toBe(buffers);
    tf.dispose([y!, w!]);
    net.dispose();
  });

  it('leaves no tensors or backend buffers behind, forward or backward', () => {
    const net = new ODENet({ dim: D, hidden: [8, 8], seed: 1 });
    const buffers = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
    for (const layout of layouts) {
      const { y, w } = inputs(layout, 30);
      const before = buffers();
      for (let i = 0; i < 3; i++) {
        tf.tidy(() => {
          net.augmented(0.4, y, layout);
        });
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.augmented(0.4, y, layout), w)) as tf.Scalar, net.variables);
        tf.dispose([value, ...Object.values(grads)]);
      }
      expect(buffers()).toBe(before);
      expect(leaks(() => tf.tidy(() => net.augmented(0.4, y, layout)))).toEqual([0, 0, 0]);
      expect(leaks(() => tf.tidy(() => net.augmented(0.4, y, layout, false)))).toEqual([0, 0, 0]);
      expect(leaks(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.augmented(0.4, y, layout), w)) as tf.Scalar, net.variables);
        tf.dispose([value, ...Object.values(grads)]);
      })).toEqual([0, 0, 0]);
      tf.dispose([y, w]);
    }
    net.dispose();
  });
});
