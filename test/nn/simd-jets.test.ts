import { describe, expect, it } from 'vitest';
import { tf, useBackend } from '../../src/index.js';
import { KernelRunner } from '../../src/backend/kernels.js';
import { ACTIVATION_DEFS, NUMBER_ARITH, activationBack } from '../../src/nn/activation-defs.js';
import type { ActivationName } from '../../src/nn/activations.js';
import { JETS } from '../../src/nn/layer-kernels.js';
import { simdJet } from '../../src/nn/simd-jets.js';
import { maxDiff, withRunner } from '../tensor-helpers.js';

const NAMES = Object.keys(ACTIVATION_DEFS) as ActivationName[];

/** [B, n] floats spread over the activations' interesting range, with extremes that saturate or overflow a naive exp. */
function inputs(B: number, n: number, seed: number, extremes = false): Float32Array {
  const x = new Float32Array(B * n);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    x[i] = (s / 2 ** 31 - 0.5) * 12;
  }
  if (extremes) x.set([0, -0, 1e-8, -1e-8, 30, -30, 88, -88, 100, -100, 1e30, -1e30].slice(0, x.length));
  return x;
}

describe('activation jets by generated SIMD128 code (simd-jets.ts)', () => {
  it('generate for every activation but softplus, whose logarithm the code does not have', async () => {
    await useBackend('wasm');
    for (const name of NAMES) expect(simdJet(name, 1) === null, name).toBe(name === 'softplus');
    expect(simdJet('tanh', 17)).toBeNull();
  });

  for (const name of NAMES.filter((n) => n !== 'softplus')) {
    // K = 16 (the most the jets unroll) also takes local indices past 127, LEB128-encoded.
    for (const K of [1, 3, 16]) {
      it(`${name}, K = ${K}: the forward jet is the definition's in float64 to a few float32 ulps, the tangents its products, and back equals the kernels' (bit for bit where σ″ is products of h and σ′)`, async () => {
        await useBackend('wasm');
        const [B, n] = [37, 12];
        const jet = simdJet(name, K)!;
        const def = ACTIVATION_DEFS[name];
        const buffers = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
        const before = buffers();
        withRunner((r, host) => {
        const a = r.constant(inputs(B, n, 1, true), [B, n]);
        const ad = r.constant(inputs(K * B, n, 2), [K * B, n]);
        const f = jet.forward(host, a, ad)!;
        expect(f).not.toBeNull();
        const [av, adv, hv, d1v, uv] = [a, ad, f.h, f.d1, f.u].map((t) => host.view(t));
        for (let i = 0; i < B * n; i++) {
          const x = av[i]!;
          const h = def.h(NUMBER_ARITH, x);
          const d1 = def.d1(NUMBER_ARITH, x, h);
          // Relative to the value, or absolute near 0 (2σ(2a) − 1 cancels there, in the kernels too):
          // a few ulps, which the definitions' float32 operations add to the exponential's.
          expect(Math.abs(hv[i]! - h), `${name} h(${x})`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(h)));
          expect(Math.abs(d1v[i]! - d1), `${name} σ′(${x})`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(d1)));
          for (let k = 0; k < K; k++) expect(uv[k * B * n + i]).toBe(Math.fround(adv[k * B * n + i]! * d1v[i]!));
        }
        // The kernels' forward jet agrees to float32 accuracy.
        const kj = JETS[name].jet(r, a);
        expect(maxDiff(host.view(kj.h), hv)).toBeLessThan(1e-6);
        expect(maxDiff(host.view(kj.d1), d1v)).toBeLessThan(1e-6);

        const hBar = r.constant(inputs(B, n, 3), [B, n]);
        const uBar = r.constant(inputs(K * B, n, 4), [K * B, n]);
        const g = jet.back(host, hBar, uBar, ad, f.h, f.d1, a)!;
        expect(g).not.toBeNull();
        // The kernels' reverse, as cnf-kernel.ts runs it.
        const prod = r.mul(uBar, ad);
        const d1Bar = K === 1 ? prod : r.sum(r.reshape(prod, [K, B, n]), 0);
        const adBar = K === 1 ? r.mul(uBar, f.d1) : r.reshape(r.mul(r.reshape(uBar, [K, B, n]), f.d1), [K * B, n]);
        const aBar = JETS[name].back(r, hBar, d1Bar, a, f.h, f.d1);
        expect(Array.from(host.view(g.adBar))).toEqual(Array.from(host.view(adBar)));
        // Where σ″ is products and sums of h and σ′ (not swish's, which recomputes σ(a)), the
        // kernels' operations in the kernels' order.
        if (K === 1 && name !== 'swish') expect(Array.from(host.view(g.aBar))).toEqual(Array.from(host.view(aBar)));
        else {
          // Σ_k in order of k against the kernels' Sum, or swish's σ(a): equal to float32 rounding.
          const [gv, kv] = [host.view(g.aBar), host.view(aBar)];
          for (let i = 0; i < B * n; i++) expect(Math.abs(gv[i]! - kv[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(kv[i]!)));
        }
        // And the definition's reverse in float64.
        const [hb, ub, gv] = [host.view(hBar), host.view(uBar), host.view(g.aBar)];
        for (let i = 0; i < B * n; i++) {
          let d1b = 0;
          for (let k = 0; k < K; k++) d1b += ub[k * B * n + i]! * adv[k * B * n + i]!;
          const ref = activationBack(def, NUMBER_ARITH, hb[i]!, d1b, av[i]!, hv[i]!, d1v[i]!);
          // Relative to the terms h̄·σ′ and σ̄′·σ″, which may cancel (and swish's 1 − σ(a) cancels in float32).
          const scale = 1 + Math.abs(hb[i]! * d1v[i]!) + Math.abs(d1b * def.d2(NUMBER_ARITH, av[i]!, hv[i]!, d1v[i]!));
          expect(Math.abs(gv[i]! - ref), `${name} ā at ${av[i]}`).toBeLessThanOrEqual(1e-5 * scale);
        }
        });
        // Every buffer the jets made went with the runner.
        expect(buffers()).toBe(before);
      });
    }
  }

  for (const name of ['tanh', 'swish', 'elu'] as const) {
    it(`${name}: carries NaN through h, σ′ and ā (the exponential clamps its argument, which keeps NaN)`, async () => {
      await useBackend('wasm');
      withRunner((r, host) => {
      const a = r.constant(new Float32Array([NaN, 1, -1, NaN]), [1, 4]);
      const ones = r.constant(new Float32Array(4).fill(1), [1, 4]);
      const jet = simdJet(name, 1)!;
      const f = jet.forward(host, a, ones)!;
      const g = jet.back(host, ones, ones, ones, f.h, f.d1, a)!;
      for (const t of [f.h, f.d1, g.aBar]) {
        const v = Array.from(host.view(t));
        expect([0, 3].map((i) => Number.isNaN(v[i]))).toEqual([true, true]);
        expect([1, 2].map((i) => Number.isFinite(v[i]))).toEqual([true, true]);
      }
      const def = ACTIVATION_DEFS[name];
      expect(host.view(f.h)[1]).toBeCloseTo(def.h(NUMBER_ARITH, 1), 6);
      });
    });
  }

  it('saturates past the float32 range as the definitions do: eˣ is +∞ above ln(FLT_MAX) and 0 below −87.33', async () => {
    await useBackend('wasm');
    withRunner((r, host) => {
    const xs = [-1e38, -1e30, -100, -90, 89, 100, 1e30, 1e38];
    const a = r.constant(new Float32Array(xs), [2, 4]);
    const ones = r.constant(new Float32Array(8).fill(1), [2, 4]);
    const sig = Array.from(host.view(simdJet('sigmoid', 1)!.forward(host, a, ones)!.h));
    const swish = Array.from(host.view(simdJet('swish', 1)!.forward(host, a, ones)!.h));
    const elu = Array.from(host.view(simdJet('elu', 1)!.forward(host, a, ones)!.h));
    // σ(a) = 1 / (1 + e^(−a)): e^(−a) = +∞ for a ≤ −90, so σ = 0 and swish = a·σ = −0 (not a·1.2·10⁻³⁸).
    expect(sig.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(sig.slice(4)).toEqual([1, 1, 1, 1]);
    expect(swish.slice(0, 4).map(Math.abs)).toEqual([0, 0, 0, 0]);
    expect(swish.slice(4)).toEqual(xs.slice(4).map(Math.fround));
    // elu(a) = eᵃ − 1 for a ≤ 0: e^a is 0 below −87.33, so exactly −1.
    expect(elu.slice(0, 4)).toEqual([-1, -1, -1, -1]);
    });
  });

  it('refuses buffers whose floats do not come in fours, and other backends', async () => {
    await useBackend('wasm');
    const r = KernelRunner.create()!;
    try {
      const a = r.constant(new Float32Array(6), [2, 3]);
      expect(simdJet('tanh', 1)!.forward(r.host()!, a, a)).toBeNull();
    } finally {
      r.free();
    }
    await useBackend('cpu');
    expect(simdJet('tanh', 1)).toBeNull();
    await useBackend('wasm');
  });
});
