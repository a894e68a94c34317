import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AffineCoupling, SplineCoupling, tf, useBackend } from '../../src/index.js';
import { knotSlope, MIN_SLOPE } from '../../src/discrete/spline-host.js';
import { MLP } from '../../src/nn/mlp.js';
import { maxDiff, values } from '../tensor-helpers.js';

describe('coupling conditioners start like zuko\'s (issues 17, 19)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('a 2-D coupling conditioner starts with its first-layer ReLU kinks spread over the input, not all at 0', () => {
    const c = new AffineCoupling({ dim: 2, parity: 'even', seed: 4 });
    try {
      // One input x_A: unit j has its kink at −b_j / w_j. With zero biases all 64 sat at 0.
      const [w, b] = [values(c.net.weights[0]!), values(c.net.biases[0]!)];
      expect(w.length).toBe(64);
      expect(Math.max(...w.map(Math.abs), ...b.map(Math.abs))).toBeLessThanOrEqual(1); // ±1/√fan-in, fan-in 1
      const kinks = w.map((wj, j) => -b[j]! / wj).filter((k) => Math.abs(k) < 4);
      const awayFromZero = kinks.filter((k) => Math.abs(k) > 0.25).length;
      expect(awayFromZero).toBeGreaterThan(20);
      // The last layer stays zero: the coupling starts as the identity.
      expect(Math.max(...values(c.net.weights[2]!).map(Math.abs), ...values(c.net.biases[2]!).map(Math.abs))).toBe(0);
    } finally {
      c.dispose();
    }
  });

  it("MLP's default initialisation is unchanged (Glorot weights, zero biases) and a bad init is refused", () => {
    const m = new MLP(3, [5], 2, { seed: 1 });
    try {
      expect(values(m.biases[0]!).every((v) => v === 0)).toBe(true);
      expect(Math.max(...values(m.weights[0]!).map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 8));
    } finally {
      m.dispose();
    }
    const before = tf.memory().numTensors;
    expect(() => new MLP(3, [5], 2, { init: 'he' as 'glorot' })).toThrow(/MLP: init must be 'glorot' or 'fan-in', got "?he"?/);
    expect(tf.memory().numTensors).toBe(before);
  });

  describe('a spline coupling with a zero last layer is the identity, on the fused and the taped path', () => {
    let x: tf.Tensor2D;
    beforeAll(() => {
      x = tf.randomNormal([50, 3], 0, 2, 'float32', 8) as tf.Tensor2D;
    });
    afterAll(() => x.dispose());
    for (const fused of [true, false]) {
      it(`fused: ${fused}`, () => {
        // Knot derivatives were m + softplus(0) = 0.69 at raw 0: the fresh spline bent its inputs.
        const s = new SplineCoupling({ dim: 3, parity: 'odd', bins: 6, bound: 3, fused });
        try {
          const { y, logDet } = s.forward(x);
          expect(maxDiff(values(y), values(x))).toBeLessThan(1e-5);
          expect(Math.max(...values(logDet).map(Math.abs))).toBeLessThan(1e-5);
          tf.dispose([y, logDet]);
        } finally {
          s.dispose();
        }
      });
    }
  });

  it('knot slopes are log-parameterised: slope 1 at 0, steep slopes from small raw numbers, bounded by MIN_SLOPE', () => {
    expect(knotSlope(0)).toBe(1);
    // A posterior 50 times narrower than the prior needs slopes near 50: raw 10 gives it (m + softplus needed 50).
    expect(knotSlope(10)).toBeGreaterThan(50);
    expect(knotSlope(-10)).toBeLessThan(1 / 50);
    expect(knotSlope(1e6)).toBeLessThan(1 / MIN_SLOPE);
    expect(knotSlope(-1e6)).toBeGreaterThan(MIN_SLOPE);
    // Monotone in u.
    const us = [-20, -3, -0.5, 0, 0.5, 3, 20];
    for (let i = 1; i < us.length; i++) expect(knotSlope(us[i]!)).toBeGreaterThan(knotSlope(us[i - 1]!));
  });
});
