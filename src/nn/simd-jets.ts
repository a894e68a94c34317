/**
 * The activations' jets on tfjs-wasm as SIMD128 code generated from their one definition
 * (activation-defs.ts): an `Arith` whose values are v128 locals (simd-arith.ts) writes each
 * definition's expressions as WebAssembly, four floats a round, into a module that shares
 * tfjs-wasm's heap (backend/wasm-simd.ts), so that a layer's jet (h = σ(a), σ′, and the tangents
 * u = ȧ ⊙ σ′) is one pass over its buffers where the backend's kernels took seven, and its reverse
 * one pass where they took six (a buffer written and read back between every two).
 *
 * The arithmetic is the definitions' in float32, operation by operation, so where σ″ is products
 * and sums of h and σ′ (tanh, sigmoid, elu) `back` gives the kernels' results bit for bit; `exp`,
 * which the kernels take from XNNPACK, is written in simd-arith.ts (range reduction by n·ln 2 in
 * two parts, Cody and Waite's, a degree-7 Taylor polynomial on |r| ≤ ln 2 / 2, the power of two
 * by its exponent bits, +∞ and 0 past the float32 range): within a few float32 ulps of the exact
 * exponential, not bit for bit XNNPACK's (the tests hold every jet to 1e-6 of its float64
 * definition). An activation whose
 * definition uses an operation not written here (softplus's logarithm) has no SIMD jet; its
 * callers take the kernels.
 */
import { tf } from '../backend/engine.js';
import type { HostBuffers } from '../backend/kernels.js';
import { onHeap } from '../backend/simd-contract.js';
import { GET, I32, I32_ADD, MUL, V128, addTo, countdown, func, int, loadAt, name, section, set, storeAt, vec } from '../backend/wasm-encode.js';
import { heapAddress, heapModule } from '../backend/wasm-simd.js';
import { ACTIVATION_DEFS, activationBack } from './activation-defs.js';
import type { ActivationDef } from './activation-defs.js';
import { SimdCode, Unsupported } from './simd-arith.js';
import type { Value } from './simd-arith.js';
import type { ActivationName } from './activations.js';

type T = tf.TensorInfo;

/**
 * The module of one activation's jet for K tangent blocks (1: Hutchinson's probe; D: the exact
 * trace's unit vectors), its functions over n4 rounds of four floats of [B, n] buffers (byte
 * addresses; `block` the bytes between two tangent blocks, B·n·4):
 *   forward (a, ȧ, h, σ′, u, n4, block): h = σ(a), σ′(a), u_k = ȧ_k ⊙ σ′ for k < K;
 *   back (h̄, ū, ȧ, h, σ′, a, ā, ǡ, n4, block): σ̄′ = Σ_k ū_k ⊙ ȧ_k (in order of k), ǡ_k = ū_k ⊙ σ′,
 *     ā = h̄·σ′ + σ̄′·σ″ as the definition writes it (`activationBack`); a read only where it `needsInput`.
 * Null where the definition uses an operation the generated code does not have.
 */
function jetBytes(def: ActivationDef, K: number): Uint8Array | null {
  try {
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, vec([[0x60, ...vec(Array.from({ length: 7 }, () => [I32])), 0x00], [0x60, ...vec(Array.from({ length: 10 }, () => [I32])), 0x00]])),
      ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
      ...section(3, vec([[0], [1]])),
      ...section(7, vec(['forward', 'back'].map((f, i) => [...name(f), 0x00, i]))),
      ...section(10, [2, ...forwardBody(def, K), ...backBody(def, K)]),
    ]);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/**
 * A function body over n4 ≥ 1 vectors of four floats: `round(o, at)` writes the code for one
 * vector at the pointers `ptrs` (which then advance by 16 bytes), `at(base, k)` the address of
 * tangent block k of a buffer. `block` (a parameter) is the bytes between tangent blocks.
 * (Unrolling the loop by 2 or 4 vectors, for independent chains to overlap, measured no faster.)
 */
function loop(params: number, n4: number, block: number, K: number, ptrs: number[], round: (o: SimdCode, at: (base: number, k: number) => number[]) => void): number[] {
  const sixteen = params;
  const off = params + 1; // off + k − 1 holds k·block, for 0 < k < K
  const ints = 1 + Math.max(0, K - 1);
  const o = new SimdCode(params + ints);
  const offset = (k: number) => off + k - 1;
  const at = (base: number, k: number) => (k === 0 ? [GET, base] : [GET, base, GET, offset(k), I32_ADD]);
  const setup = set(sixteen, int(16));
  for (let k = 1; k < K; k++) setup.push(...set(offset(k), k === 1 ? [GET, block] : [GET, offset(k - 1), GET, block, I32_ADD]));
  round(o, at);
  const code = o.take();
  for (const p of ptrs) code.push(...addTo(p, sixteen));
  return func([[ints, I32], [o.end - params - ints, V128]], [...o.prologue, ...setup, ...countdown(n4, code)]);
}

/** forward's body (see {@link jetBytes}). */
function forwardBody(def: ActivationDef, K: number): number[] {
  const [a, ad, h, d1, u, n4, block] = [0, 1, 2, 3, 4, 5, 6];
  return loop(7, n4, block, K, [a, ad, h, d1, u], (o, at) => {
    const A = o.fresh(loadAt([GET, a], 0));
    const H = def.h(o, A);
    const D1 = def.d1(o, A, H);
    o.code.push(...storeAt([GET, h], 0, o.get(H)), ...storeAt([GET, d1], 0, o.get(D1)));
    for (let k = 0; k < K; k++) o.code.push(...storeAt(at(u, k), 0, [...loadAt(at(ad, k), 0), ...o.get(D1), ...MUL]));
  });
}

/** back's body (see {@link jetBytes}). */
function backBody(def: ActivationDef, K: number): number[] {
  const [hBar, uBar, ad, h, d1, a, aBar, adBar, n4, block] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const ptrs = [hBar, uBar, ad, h, d1, ...(def.needsInput ? [a] : []), aBar, adBar];
  return loop(10, n4, block, K, ptrs, (o, at) => {
    const [HB, H, D1] = [hBar, h, d1].map((p) => o.fresh(loadAt([GET, p], 0))) as [Value, Value, Value];
    const A = def.needsInput ? o.fresh(loadAt([GET, a], 0)) : H; // σ″ reads a only where it needs it
    let d1Bar: Value | null = null;
    for (let k = 0; k < K; k++) {
      const UB = o.fresh(loadAt(at(uBar, k), 0));
      const prod = o.mul(UB, o.fresh(loadAt(at(ad, k), 0)));
      d1Bar = d1Bar ? o.add(d1Bar, prod) : prod;
      o.code.push(...storeAt(at(adBar, k), 0, o.get(o.mul(UB, D1))));
    }
    o.code.push(...storeAt([GET, aBar], 0, o.get(activationBack(def, o, HB, d1Bar!, A, H, D1))));
  });
}

interface JetModule {
  forward(a: number, ad: number, h: number, d1: number, u: number, n4: number, block: number): void;
  back(hBar: number, uBar: number, ad: number, h: number, d1: number, a: number, aBar: number, adBar: number, n4: number, block: number): void;
}

/** The most tangent blocks a generated jet unrolls (the exact trace of a D ≤ 16 field). */
const MAX_BLOCKS = 16;

/** One activation's jet over [B, n] buffers and K tangent blocks [K·B, n], by the generated SIMD code. */
export interface HostJet {
  /** h = σ(a), σ′(a) and u = ȧ ⊙ σ′ (per tangent block), or null where it does not run for these buffers. */
  forward(host: HostBuffers, a: T, ad: T): { h: T; d1: T; u: T } | null;
  /**
   * ā = h̄·σ′ + σ̄′·σ″ with σ̄′ = Σ_k ū_k ⊙ ȧ_k, and ǡ = ū ⊙ σ′ (the cotangents of the layer's
   * pre-activation and tangent, from those of its output h̄ and tangent output ū), or null.
   */
  back(host: HostBuffers, hBar: T, uBar: T, ad: T, h: T, d1: T, a: T | null): { aBar: T; adBar: T } | null;
}

/**
 * The SIMD jet of an activation for K tangent blocks on the active backend, or null where it
 * does not run: not tfjs-wasm (or its memory cannot be imported), an operation the generated code
 * does not have, or K past 16.
 */
export function simdJet(activation: ActivationName, K: number): HostJet | null {
  if (tf.getBackend() !== 'wasm' || K < 1 || K > MAX_BLOCKS) return null;
  const def: ActivationDef = ACTIVATION_DEFS[activation];
  const m = heapModule<JetModule>(`jet:${activation}:${K}`, () => jetBytes(def, K));
  if (!m) return null;
  let jet = jets.get(m);
  if (!jet) jets.set(m, (jet = hostJet(m, def, K)));
  return jet;
}

const jets = new WeakMap<JetModule, HostJet>();

/** n4 for a buffer whose floats come in whole rounds of four, else 0 (the caller's kernels run). */
function rounds(x: T): number {
  const n = x.shape.reduce((p, d) => p * d, 1);
  return n % 4 === 0 ? n / 4 : 0;
}

/**
 * {@link HostJet} by a jet module for K tangent blocks (see {@link jetBytes}). The module writes
 * where the shapes say: every buffer is checked to hold what it must ([B, n], or K blocks of it).
 */
function hostJet(m: JetModule, def: ActivationDef, K: number): HostJet {
  return {
    forward(host, a, ad) {
      const n4 = rounds(a);
      if (n4 < 1 || rounds(ad) !== K * n4 || !onHeap(a) || !onHeap(ad)) return null;
      // Every buffer before an address is taken: no view is held, so a heap growth moves nothing read here.
      const [h, d1, u] = [host.alloc([...a.shape]), host.alloc([...a.shape]), host.alloc([...ad.shape])];
      m.forward(heapAddress(a), heapAddress(ad), heapAddress(h), heapAddress(d1), heapAddress(u), n4, 16 * n4);
      return { h, d1, u };
    },
    back(host, hBar, uBar, ad, h, d1, a) {
      const n4 = rounds(h);
      const blocks = def.needsInput ? [hBar, d1, a] : [hBar, d1];
      if (n4 < 1 || blocks.some((x) => !x || rounds(x) !== n4) || rounds(uBar) !== K * n4 || rounds(ad) !== K * n4) return null;
      if (![hBar, uBar, ad, h, d1, ...(def.needsInput ? [a!] : [])].every(onHeap)) return null;
      const [aBar, adBar] = [host.alloc([...h.shape]), host.alloc([...uBar.shape])];
      const aAt = def.needsInput ? heapAddress(a!) : 0;
      m.back(heapAddress(hBar), heapAddress(uBar), heapAddress(ad), heapAddress(h), heapAddress(d1), aAt, heapAddress(aBar), heapAddress(adBar), n4, 16 * n4);
      return { aBar, adBar };
    },
  };
}
