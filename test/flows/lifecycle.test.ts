import { beforeAll, describe, expect, it } from 'vitest';
import { createFlow, tf, useBackend, FLOW_TYPES } from '../../src/index.js';
import { LULinear } from '../../src/discrete/lu-linear.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const buffers = (): number => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();

describe('building and disposing a flow leaves no tensor behind', () => {
  it('LULinear: construction + dispose', () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) new LULinear(3, i).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(FLOW_TYPES)('%s: createFlow + dispose, repeated (tensors and backend buffers)', (type) => {
    const count = () => [tf.memory().numTensors, buffers()];
    const before = count();
    for (let i = 0; i < 2; i++) createFlow({ type, dim: 2, hidden: [8], seed: i }).dispose();
    expect(count()).toEqual(before);
  });
});
