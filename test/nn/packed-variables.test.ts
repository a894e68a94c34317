import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ODENet, tf, useBackend } from '../../src/index.js';
import { augmentedWidth } from '../../src/nn/fused-field.js';
import type { AugmentedLayout } from '../../src/nn/fused-field.js';
import { PACK_VARIABLES } from '../../src/nn/packed-variables.js';
import { leaks, maxDiff, values } from '../tensor-helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const buffers = (): number => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();

/** Σ_k Σ w_k ⊙ dY/dt(t_k, y_k) over three evaluations, as a solve tapes them, with or without the packed variables. */
function loss(net: ODENet, layout: AugmentedLayout, ys: tf.Tensor2D[], ws: tf.Tensor2D[], pack: boolean): tf.Scalar {
  const packed = pack ? net.packVariables() : null;
  if (pack) expect(packed).not.toBeNull();
  const terms = ys.map((y, k) => tf.sum(tf.mul(net.augmented(0.1 * (k + 1), y, layout, true, packed), ws[k]!)));
  return tf.addN(terms) as tf.Scalar;
}

describe('packed variables (ODENet.packVariables) for the fused CNF op', () => {
  for (const [backend, layout, hidden] of [['wasm', { dim: 3, regs: true, trace: 'hutchinson' }, [7, 6]], ['wasm', { dim: 2, regs: false, trace: 'exact' }, [5]], ['cpu', { dim: 3, regs: true, trace: 'hutchinson' }, [7, 6]]] as ['wasm' | 'cpu', AugmentedLayout, number[]][]) {
    it(`give every variable and state the same gradient with one accumulation per evaluation, not one per variable (${backend}, ${layout.trace}), and leave nothing behind`, async () => {
      await useBackend(backend);
      const net = new ODENet({ dim: layout.dim, hidden, seed: 3 });
      const width = augmentedWidth(layout);
      const ys = [0, 1, 2].map((k) => tf.randomNormal([width, 6], 0, 1, 'float32', 10 + k) as tf.Tensor2D);
      const ws = [0, 1, 2].map((k) => tf.randomNormal([width, 6], 0, 1, 'float32', 20 + k) as tf.Tensor2D);
      // The states share one tensor as a solve's stages do not; a separate y per term keeps Ȳ apart.
      const xs = [...ys, ...net.variables];
      const grads = (pack: boolean) => tf.tidy(() => tf.grads((..._: tf.Tensor[]) => loss(net, layout, ys, ws, pack))(xs).flatMap((g) => values(g)));
      const plain = grads(false);
      const packed = grads(true);
      expect(maxDiff(packed, plain) / Math.max(...plain.map(Math.abs))).toBeLessThan(1e-6);
      // The tape sums the gradients of each input over the evaluations by an Add each: with the
      // variables packed, two for the packed tensor (three evaluations), else two per variable.
      const adds = async (pack: boolean) => (await tf.profile(() => {
        const { value, grads: g } = tf.variableGrads(() => loss(net, layout, ys, ws, pack), net.variables);
        tf.dispose([value, ...Object.values(g)]);
      })).kernels.filter((k) => k.name === 'Add').length;
      const [withPack, without] = [await adds(true), await adds(false)];
      expect([withPack, without]).toEqual([2, 2 * net.variables.length]);
      const b0 = buffers();
      expect(leaks(() => {
        const { value, grads: g } = tf.variableGrads(() => loss(net, layout, ys, ws, true), net.variables);
        tf.dispose([value, ...Object.values(g)]);
      })).toEqual([0, 0, 0]);
      expect(buffers()).toBe(b0);
      tf.dispose([...ys, ...ws]);
      net.dispose();
      await useBackend('wasm');
    });
  }

  it('are made only where a first-order tape records (null otherwise), as one registered op', async () => {
    const net = new ODENet({ dim: 2, hidden: [4], seed: 1 });
    expect(net.packVariables()).toBeNull();
    const names = (await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(net.packVariables()!) as tf.Scalar, net.variables);
      // d Σ packed / d v = 1 for every entry of every variable.
      expect(Object.values(grads).flatMap((g) => values(g)).every((v) => v === 1)).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
    })).kernels.map((k) => k.name);
    expect(names.filter((n) => n === PACK_VARIABLES)).toHaveLength(1);
    // Inside a tape that records inside another (a gradient of a gradient may be taken): none.
    tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.grad((z: tf.Tensor) => {
      expect(net.packVariables()).toBeNull();
      return tf.sum(tf.square(z));
    })(x)))(tf.ones([2])));
    net.dispose();
  });

  it('are refused where they are not this net’s, or where gradients could not reach them (a nested tape), before any work', () => {
    const net = new ODENet({ dim: 2, hidden: [4], seed: 1 });
    const layout: AugmentedLayout = { dim: 2, regs: false, trace: 'exact' };
    const y = tf.randomNormal([augmentedWidth(layout), 3], 0, 1, 'float32', 2) as tf.Tensor2D;
    const wrong = tf.zeros([5]);
    const before = tf.memory().numTensors;
    expect(() => net.augmented(0.1, y, layout, true, wrong)).toThrow(InvalidArgumentError);
    expect(() => net.augmented(0.1, y, layout, true, wrong)).toThrow(/ODENet.augmented: packed must be this net's packVariables\(\) \(a \[\d+\] tensor\) or null, got \[5\]/);
    expect(tf.memory().numTensors).toBe(before);
    wrong.dispose();
    // Made on a first-order tape, used inside a tape recording inside it: no route to the variables.
    expect(() => tf.variableGrads(() => {
      const packed = net.packVariables();
      const inner = tf.grad((yy: tf.Tensor) => tf.sum(net.augmented(0.1, yy as tf.Tensor2D, layout, true, packed)))(y);
      return tf.sum(inner) as tf.Scalar;
    }, net.variables)).toThrow(/packed variables, which route gradients only on a first-order tape/);
    tf.dispose(y);
    net.dispose();
  });
});
