/**
 * The arithmetic of the fused CNF dynamics (fused-field.ts), as the bodies of its two registered
 * kernels: `forward` makes dY/dt and the intermediates the backward pass reads, `backward` maps
 * a cotangent of dY/dt to those of Y and of the net's variables. Both run on a KernelRunner (the
 * backend's kernels, no engine bookkeeping per step). On wasm they do the narrow and
 * parameter-sized arithmetic in JS on the heap, and the rest by the SIMD128 module on the heap:
 * the products (backend/simd-matmul.ts), the activations' jets (simd-jets.ts) and the weight
 * gradients (simd-weight-grads.ts), about two backend kernels an evaluation where there were 30.
 * What is saved, and in which order, is one table ({@link savedTable}) that both read.
 *
 * Forward-mode tangents through every layer h ↦ σ(h·W(t) + b(t)):
 *   a = h·W + b,  ȧ = u·W,  h' = σ(a),  u' = ȧ ⊙ σ'(a),
 * from u = ε (Hutchinson) or the D unit vectors (exact trace); the backward pass is that
 * computation's reverse mode written by hand, σ″ included.
 */
import type { tf } from '../backend/engine.js';
import type { HostBuffers, KernelRunner } from '../backend/kernels.js';
import type { ActivationName } from './activations.js';
import type { LayerKind } from './odenet.js';
import { effective, JETS, layerGrads } from './layer-kernels.js';
import { LAYER_DEFS } from './layer-defs.js';
import { gpuBackward, gpuForward } from './cnf-program.js';
import { hostTranspose } from '../backend/host-ops.js';
import { simdCotangent } from '../backend/simd-contract.js';
import { simdMatMul, simdRows } from '../backend/simd-matmul.js';
import { simdJet } from './simd-jets.js';
import { simdWeightGrads } from './simd-weight-grads.js';
import type { GpuDynamics } from './cnf-program.js';

type T = tf.TensorInfo;

/** Which rows of the state tensor hold what. */
export interface AugmentedLayout {
  dim: number;
  /** RNODE terms E (∫‖f‖²) and F (∫‖∂f/∂z‖²) follow L. */
  regs: boolean;
  /** 'hutchinson': the probe ε follows (`dim` rows); 'exact': no probe. */
  trace: 'exact' | 'hutchinson';
  /**
   * Rows of the context c the net conditions on, last (default 0): constant like the probe
   * (dc/dt = 0), so an adjoint solve carries ∂loss/∂c back with the state.
   */
  context?: number;
}

/** Number of rows of the state tensor for a layout. */
export function augmentedWidth({ dim, regs, trace, context = 0 }: AugmentedLayout): number {
  return dim + 1 + (regs ? 2 : 0) + (trace === 'hutchinson' ? dim : 0) + context;
}

/** The kernels' attributes: the time, the layout and the net's structure. */
export interface DynamicsAttrs extends AugmentedLayout {
  context: number;
  t: number;
  kind: LayerKind;
  activation: ActivationName;
  /** Number of layers; the variables are L equal groups (W, b, the kind's time weights, then W_c if conditioned). */
  layers: number;
}

/** Per hidden layer, indices into the saved intermediates (−1: none): σ′, ȧ, a and the output h. */
interface Entry {
  d1: number;
  ad: number;
  a: number;
  h: number;
}

/**
 * The order of the saved intermediates: per hidden layer σ′, ȧ, (a), h; last f and its tangents.
 * (Each engine tensor saved costs a clone and, in the backward pass, a zero cotangent: the
 * layers' effective weights are not in this table; the kernel path hands them on packed with the
 * intermediates, {@link extraShapes}, and the WebGPU programs recompute them.)
 */
export function savedTable(a: DynamicsAttrs): { at: Entry[]; iF: number; count: number } {
  let n = 0;
  const at: Entry[] = [];
  for (let l = 0; l < a.layers; l++) {
    const e: Entry = { d1: -1, ad: -1, a: -1, h: -1 };
    if (l + 1 < a.layers) {
      e.d1 = n++;
      e.ad = n++;
      if (JETS[a.activation].needsInput) e.a = n++;
      e.h = n++;
    }
    at.push(e);
  }
  return { at, iF: n, count: n + 2 };
}

/**
 * The shapes of the saved intermediates (in {@link savedTable}'s order) for a batch of B rows,
 * from each layer's output width: σ′, (a) and h are [B, n], the tangents ȧ [K·B, n].
 */
export function savedShapes(a: DynamicsAttrs, widths: readonly number[], B: number): number[][] {
  const { at, iF, count } = savedTable(a);
  const KB = (a.trace === 'hutchinson' ? 1 : a.dim) * B;
  const shapes: number[][] = new Array<number[]>(count);
  at.forEach((e, l) => {
    const n = widths[l]!;
    if (e.d1 >= 0) shapes[e.d1] = [B, n];
    if (e.ad >= 0) shapes[e.ad] = [KB, n];
    if (e.a >= 0) shapes[e.a] = [B, n];
    if (e.h >= 0) shapes[e.h] = [B, n];
  });
  shapes[iF] = [B, a.dim];
  shapes[iF + 1] = [KB, a.dim];
  return shapes;
}

/**
 * The shapes of what the kernel path (not WebGPU's programs) also hands to its backward pass
 * where the intermediates travel packed: `weights`, per layer its effective weights W⊙S(t), then
 * per layer its scale S where the kind has one; `tangents`, per layer but the first its tangent
 * input u = ȧ⊙σ′ from the layer below ([K·B, n]: packed only where the intermediates are). The
 * backward pass recomputes what it is not handed (a kernel call or a loop over the units each,
 * per layer and evaluation); packed, they cost a copy (about 0.1 ns a float on wasm). From the
 * variables' shapes (L equal groups: W, b, the kind's time weights, …) and B.
 */
export function extraShapes(a: DynamicsAttrs, varShapes: readonly (readonly number[])[], B: number): { weights: number[][]; tangents: number[][] } {
  const def = LAYER_DEFS[a.kind];
  const per = varShapes.length / a.layers;
  const W: number[][] = [];
  const S: number[][] = [];
  for (let l = 0; l < a.layers; l++) {
    const [rows, n] = varShapes[l * per]! as [number, number];
    W.push([rows - (def.timeRow ? 1 : 0), n]);
    // As `effective` makes it: one value per unit, or one for the layer.
    if (def.scale) S.push([Math.max(1, ...def.extras.map((_, i) => varShapes[l * per + 2 + i]!.reduce((x, d) => x * d, 1)))]);
  }
  const KB = (a.trace === 'hutchinson' ? 1 : a.dim) * B;
  return { weights: [...W, ...S], tangents: W.slice(0, -1).map(([, n]) => [KB, n!]) };
}

/** The forward pass's value, its saved intermediates and, on the kernel path, its {@link extraShapes} extras. */
export interface Forward {
  value: T;
  saved: T[];
  weights: T[];
  tangents: T[];
}

/** The forward and backward kernels' bodies for one structure (the attributes but t). */
export interface Dynamics {
  forward(r: KernelRunner, Y: T, vars: readonly T[], t: number): Forward;
  backward(r: KernelRunner, dy: T, Y: T, vars: readonly T[], s: readonly T[], t: number): T[];
}

const built = new Map<string, Dynamics>();

/** The dynamics of an attribute set's structure (built once per structure: a pure JS table and its closures). */
export function dynamics(attrs: DynamicsAttrs): Dynamics {
  const key = `${attrs.kind}|${attrs.activation}|${attrs.trace}|${attrs.regs}|${attrs.dim}|${attrs.context}|${attrs.layers}`;
  let d = built.get(key);
  if (!d) {
    d = buildDynamics(attrs);
    built.set(key, d);
  }
  return d;
}

function buildDynamics(attrs: DynamicsAttrs): Dynamics {
  const { dim: D, regs, trace, kind, context: C } = attrs;
  const act = JETS[attrs.activation];
  const hutch = trace === 'hutchinson';
  const K = hutch ? 1 : D;
  const width = augmentedWidth(attrs);
  const { at, iF, count } = savedTable(attrs);
  const L = attrs.layers;
  // Rows: z, L, (E, F), then the constant ones: (ε), (c).
  const probeRow = width - C - D;
  // The extras (extraShapes): L effective weights, L scales where the kind has one, (L − 1 tangent inputs).
  const scaled = LAYER_DEFS[kind].scale !== null;
  const uAt = scaled ? 2 * L : L;
  const constRow = D + 1 + (regs ? 2 : 0);
  const gpu: Omit<GpuDynamics, 't'> = { D, K, regs, hutch, C, width, probeRow, constRow, kind, activation: attrs.activation, at, iF, count };

  /** The layers' variable groups from the flat list: the kind's own, and W_c ([C, n]) where conditioned. */
  const groups = (vars: readonly T[]): { p: T[]; Wc: T | null }[] => {
    const per = vars.length / L;
    return Array.from({ length: L }, (_, l) => {
      const g = vars.slice(l * per, (l + 1) * per);
      return C > 0 ? { p: g.slice(0, -1), Wc: g[per - 1]! } : { p: g, Wc: null };
    });
  };

  /**
   * x·w (+ b): on wasm by the SIMD module, which reads the new weights in place (simd-matmul.ts),
   * where the shapes fit it; else the backend's product.
   */
  const product = (r: KernelRunner) => {
    const host = r.host();
    return (x: T, w: T, b?: T): T => (host ? simdMatMul(host, x, w, b) : null) ?? r.matMul(x, w, b);
  };

  /** K-blocked tangent rows [K·B, n] times a per-row factor [B, n] (K = 1 on wasm: one SIMD pass, simd-contract.ts). */
  const rowScaler = (r: KernelRunner, B: number) => {
    const host = r.host();
    return (u: T, f: T): T => (K === 1 ? ((host ? simdCotangent(host, u, { t: f, relu: false }) : null) ?? r.mul(u, f)) : r.reshape(r.mul(r.reshape(u, [K, B, -1]), f), [K * B, -1]));
  };

  /** z, the probe ([B, D] each) and the context ([B, C]) from Y's rows. */
  function stateRows(r: KernelRunner, Y: T): { z: T; probe: T | null; c: T | null } {
    const B = Y.shape[1]!;
    // The narrow rows move by JS loops where the host holds the buffers (wasm): a handful of
    // kernel calls on [D, B] tensors cost more than the work.
    const host = r.host();
    const rowsOf = (first: number, n = D): T => (host ? transposeRows(host, Y, first, n, B) : r.transpose(r.slice(Y, [first, 0], [n, B])));
    return { z: rowsOf(0), probe: hutch ? rowsOf(probeRow) : null, c: C > 0 ? rowsOf(width - C, C) : null };
  }

  /**
   * dY/dt, the saved intermediates (in {@link savedTable}'s order) and, on the kernel path, the
   * layers' effective weights and scales and the tangent inputs ({@link extraShapes}; none from
   * WebGPU's programs).
   */
  function forward(r: KernelRunner, Y: T, vars: readonly T[], t: number): Forward {
    // WebGPU: a program per layer and one read-out (cnf-program.ts).
    const onGpu = r.runsPrograms() ? gpuForward(r, { ...gpu, t }, Y, groups(vars)) : null;
    if (onGpu) return { ...onGpu, weights: [], tangents: [] };
    const B = Y.shape[1]!;
    const rowScale = rowScaler(r, B);
    const host = r.host();
    const mm = product(r);
    // On wasm one pass of generated SIMD code (simd-jets.ts) makes h, σ′ and u = ȧ ⊙ σ′ per layer.
    const jet = host ? simdJet(attrs.activation, K) : null;
    const { z, probe, c } = stateRows(r, Y);
    const saved: T[] = new Array<T>(count);
    const [effW, effS, us]: [T[], T[], T[]] = [[], [], []];
    let h: T = z;
    let u: T | null = probe;
    let fz: T = z;
    let tang: T = z;
    groups(vars).forEach(({ p, Wc }, l) => {
      const entry = at[l]!;
      const e = effective(r, kind, t, p);
      effW.push(e.W);
      effS.push(...e.ctx);
      // The context enters every layer as an input of its own: + c·W_c (odenet.ts).
      const a = Wc ? r.add(mm(h, e.W, e.b), r.matMul(c!, Wc)) : mm(h, e.W, e.b);
      // Exact trace: the first layer's tangents of the unit vectors are the rows of W.
      const ad = u ? mm(u, e.W) : r.reshape(r.tile(r.reshape(e.W, [D, 1, -1]), [1, B, 1]), [D * B, -1]);
      if (l + 1 === L) {
        fz = a;
        tang = ad;
        return;
      }
      const fast = jet?.forward(host!, a, ad) ?? null;
      const { h: hn, d1 } = fast ?? act.jet(r, a);
      saved[entry.d1] = d1;
      saved[entry.ad] = ad;
      if (entry.a >= 0) saved[entry.a] = a;
      saved[entry.h] = hn;
      h = hn;
      u = fast ? fast.u : rowScale(ad, d1);
      us.push(u);
    });
    saved[iF] = fz;
    saved[iF + 1] = tang;
    // ⟨ε, J ε⟩, or Σₖ (J e_k)_k with the D unit vectors; then the output rows [fᵀ; tr; (‖f‖², ‖J‖²); (0)].
    const [weights, tangents] = [[...effW, ...effS], us];
    if (host) return { value: readout(host, fz, tang, probe, B), saved, weights, tangents };
    const div = hutch ? r.sum(r.mul(probe!, tang), 1) : r.sum(r.sum(r.mul(r.reshape(tang, [D, B, D]), r.reshape(r.eye(D), [D, 1, D])), 2), 0);
    const rows: T[] = [r.transpose(fz), r.reshape(div, [1, B])];
    if (regs) {
      const sq = r.square(tang);
      const jac = hutch ? r.sum(sq, 1) : r.sum(r.sum(r.reshape(sq, [D, B, D]), 2), 0);
      rows.push(r.reshape(r.sum(r.square(fz), 1), [1, B]), r.reshape(jac, [1, B]));
    }
    if (width > constRow) rows.push(r.zeros([width - constRow, B]));
    return { value: r.concat(rows, 0), saved, weights, tangents };
  }

  /**
   * The cotangents of Y and of the variables (in their order) from dy, the cotangent of dY/dt;
   * `s` holds the saved intermediates and, where the forward pass handed them on, its weights
   * (and tangents).
   */
  function backward(r: KernelRunner, dy: T, Y: T, vars: readonly T[], s: readonly T[], t: number): T[] {
    // WebGPU: the reverse of gpuForward's programs (cnf-program.ts).
    const onGpu = r.runsPrograms() ? gpuBackward(r, { ...gpu, t }, dy, Y, groups(vars), s) : null;
    if (onGpu) return onGpu;
    const B = Y.shape[1]!;
    const rowScale = rowScaler(r, B);
    const params = groups(vars);
    const { z, probe: pr, c } = stateRows(r, Y);
    const fz = s[iF]!;
    const tang = s[iF + 1]!;
    const host = r.host();
    const mm = product(r);
    const jet = host ? simdJet(attrs.activation, K) : null;
    // The layers' effective weights and scales, as the forward pass made them, or recomputed.
    const extras = s.length > count ? s.slice(count) : null;
    const effectiveAt = (l: number): { W: T; ctx: T[] } => (extras ? { W: extras[l]!, ctx: scaled ? [extras[L + l]!] : [] } : effective(r, kind, t, params[l]!.p));
    let aBar: T;
    let adBar: T;
    let probeBar: T | null;
    if (host) [aBar, adBar, probeBar] = seeds(host, dy, fz, tang, pr, B);
    else {
      const dDiv = r.reshape(r.slice(dy, [D, 0], [1, B]), [B, 1]);
      aBar = r.transpose(r.slice(dy, [0, 0], [D, B]));
      adBar = hutch ? r.mul(pr!, dDiv) : r.reshape(r.mul(r.reshape(r.eye(D), [D, 1, D]), r.reshape(dDiv, [1, B, 1])), [D * B, D]);
      probeBar = hutch ? r.mul(tang, dDiv) : null;
      if (regs) {
        const dE = r.reshape(r.slice(dy, [D + 1, 0], [1, B]), [B, 1]);
        const dJ = r.reshape(r.slice(dy, [D + 2, 0], [1, B]), [B, 1]);
        aBar = r.add(aBar, r.mul(fz, r.mul(dE, 2)));
        adBar = r.add(adBar, rowScale(tang, r.mul(dJ, 2)));
      }
    }
    // tfjs-wasm packs the right operand of a product on every call, so the narrower one goes there.
    const outer = (x: T, y: T): T => (x.shape[1]! < y.shape[1]! ? r.transpose(r.matMul(r.transpose(y), x)) : r.matMul(r.transpose(x), y));
    let onesRow: T | null = null;
    const ones = (): T => (onesRow ??= r.constant(new Float32Array(B).fill(1), [1, B]));
    /**
     * W̄ = hᵀ·ā + uᵀ·ǡ and b̄ = Σ_rows ā on the host's backend (wasm): two products, not one of
     * the stacked [h; u] and [ā; ǡ] (stacking copies four [B, n] blocks that the products read in
     * place), and b̄ as a product with a row of ones that reuses the packing of the operand it
     * shares (tfjs-wasm keeps an operand's packing with the tensor; its column sum transposes).
     * Where the SIMD module runs, neither: it reads the four operands in place (simd-weight-grads.ts).
     */
    const weightGrads = (h: T, aB: T, u: T, adB: T): [T, T] => {
      const fast = simdWeightGrads(host!, h, aB, u, adB);
      if (fast) return fast;
      const n = aB.shape[1]!;
      if (h.shape[1]! < n) {
        // The narrow inputs are the packed operands: W̄ᵀ = āᵀ·h + ǡᵀ·u, b̄ = āᵀ·1.
        const aT = r.transpose(aB);
        const dWt = r.add(r.matMul(aT, h), r.matMul(r.transpose(adB), u));
        return [r.transpose(dWt), r.reshape(r.matMul(aT, r.reshape(ones(), [B, 1])), [n])];
      }
      return [r.add(r.matMul(r.transpose(h), aB), r.matMul(r.transpose(u), adB)), r.reshape(r.matMul(ones(), aB), [n])];
    };
    // A layer's inputs: the previous layer's h and u = ȧ ⊙ σ′ (saved with the extras, else recomputed).
    const hIn = (l: number): T => (l === 0 ? z : s[at[l - 1]!.h]!);
    const uIn = (l: number): T | null => (l === 0 ? pr : extras && extras.length > uAt ? extras[uAt + l - 1]! : rowScale(s[at[l - 1]!.ad]!, s[at[l - 1]!.d1]!));
    const grads: T[][] = [];
    let cBar: T | null = null;
    let zBar: T = aBar;
    let uBar0: T | null = null;
    for (let l = L - 1; l >= 0; l--) {
      const e = at[l]!;
      if (l < L - 1) {
        // Through h' = σ(a) and u' = ȧ ⊙ σ′(a): aBar, adBar hold h̄', ū'.
        const d1 = s[e.d1]!;
        const a = e.a >= 0 ? s[e.a]! : null;
        const fast = jet?.back(host!, aBar, adBar, s[e.ad]!, s[e.h]!, d1, a) ?? null;
        if (fast) ({ aBar, adBar } = fast);
        else {
          const prod = r.mul(adBar, s[e.ad]!);
          const d1Bar = K === 1 ? prod : r.sum(r.reshape(prod, [K, B, -1]), 0);
          adBar = rowScale(adBar, d1);
          aBar = act.back(r, aBar, d1Bar, a, s[e.h]!, d1);
        }
      }
      const eff = effectiveAt(l);
      const W = eff.W;
      const u = uIn(l);
      let dW: T;
      let db: T;
      if (host && u) [dW, db] = weightGrads(hIn(l), aBar, u, adBar);
      else {
        db = r.sum(aBar, 0);
        // W̄ = hᵀ·ā + uᵀ·ǡ as one product, one dispatch fewer (tfjs' transposed matMul is not vectorised on wasm).
        dW = u ? outer(r.concat([hIn(l), u], 0), r.concat([aBar, adBar], 0)) : r.add(outer(hIn(l), aBar), r.sum(r.reshape(adBar, [D, B, -1]), 1));
      }
      grads[l] = layerGrads(r, kind, t, params[l]!.p, eff.ctx, dW, db);
      const Wc = params[l]!.Wc;
      if (Wc) {
        grads[l]!.push(outer(c!, aBar));
        const cb = r.matMul(aBar, r.transpose(Wc));
        cBar = cBar ? r.add(cBar, cb) : cb;
      }
      // x·Wᵀ: for a narrow input (the first layer's D rows of W) row dot products with W's rows as
      // they are (simd-matmul.ts); else a product with Wᵀ, transposed once for the layer.
      let Wt: T | null = null;
      const timesWt = (x: T): T => (host ? simdRows(host, x, W) : null) ?? mm(x, (Wt ??= host ? hostTranspose(host, W) : r.transpose(W)));
      const hBar = timesWt(aBar);
      if (l > 0) {
        adBar = timesWt(adBar);
        aBar = hBar;
      } else {
        zBar = hBar;
        if (hutch) uBar0 = timesWt(adBar);
      }
    }
    if (host) return [stateGrad(host, zBar, probeBar, uBar0, cBar, B), ...grads.flat()];
    const yRows: T[] = [r.transpose(zBar), r.zeros([probeRow - D + (hutch ? 0 : D), B])];
    if (probeBar) yRows.push(r.transpose(r.add(probeBar, uBar0!)));
    if (cBar) yRows.push(r.transpose(cBar));
    return [r.concat(yRows, 0), ...grads.flat()];
  }

  /** n rows of Y from `first` on, as a [B, n] matrix. */
  function transposeRows(host: HostBuffers, Y: T, first: number, n: number, B: number): T {
    const out = host.alloc([B, n]);
    const [y, o] = [host.view(Y), host.view(out)];
    for (let d = 0; d < n; d++) for (let b = 0, i = (first + d) * B; b < B; b++, i++) o[b * n + d] = y[i]!;
    return out;
  }

  /** The output rows from f, the tangents and the probe. */
  function readout(host: HostBuffers, fz: T, tang: T, probe: T | null, B: number): T {
    const out = host.alloc([width, B]);
    const [o, f, u] = [host.view(out), host.view(fz), host.view(tang)];
    const e = probe ? host.view(probe) : null;
    for (let b = 0; b < B; b++) {
      let div = 0;
      let kin = 0;
      let jac = 0;
      for (let d = 0; d < D; d++) {
        const fd = f[b * D + d]!;
        o[d * B + b] = fd;
        kin += fd * fd;
      }
      if (e) {
        for (let d = 0; d < D; d++) {
          const ud = u[b * D + d]!;
          div += e[b * D + d]! * ud;
          jac += ud * ud;
        }
      } else {
        for (let k = 0; k < D; k++) {
          const row = (k * B + b) * D;
          div += u[row + k]!;
          for (let d = 0; d < D; d++) jac += u[row + d]! * u[row + d]!;
        }
      }
      o[D * B + b] = div;
      if (regs) {
        o[(D + 1) * B + b] = kin;
        o[(D + 2) * B + b] = jac;
      }
    }
    o.fill(0, constRow * B);
    return out;
  }

  /** The cotangents entering the last layer (f̄ + 2Ē f; ε·tr̄ + 2F̄ Jε) and the probe's direct one. */
  function seeds(host: HostBuffers, dy: T, fz: T, tang: T, pr: T | null, B: number): [T, T, T | null] {
    const [aBar, adBar] = [host.alloc([B, D]), host.alloc([K * B, D])];
    const probeBar = pr ? host.alloc([B, D]) : null;
    const [g, f, u, a, ad] = [host.view(dy), host.view(fz), host.view(tang), host.view(aBar), host.view(adBar)];
    const [e, pb] = pr ? [host.view(pr), host.view(probeBar!)] : [null, null];
    for (let b = 0; b < B; b++) {
      const dDiv = g[D * B + b]!;
      const dE = regs ? 2 * g[(D + 1) * B + b]! : 0;
      const dJ = regs ? 2 * g[(D + 2) * B + b]! : 0;
      for (let d = 0; d < D; d++) a[b * D + d] = g[d * B + b]! + dE * f[b * D + d]!;
      if (e) {
        for (let d = 0; d < D; d++) {
          const i = b * D + d;
          ad[i] = e[i]! * dDiv + dJ * u[i]!;
          pb![i] = u[i]! * dDiv;
        }
      } else {
        for (let k = 0; k < D; k++) for (let d = 0; d < D; d++) {
          const i = (k * B + b) * D + d;
          ad[i] = (k === d ? dDiv : 0) + dJ * u[i]!;
        }
      }
    }
    return [aBar, adBar, probeBar];
  }

  /** Y's cotangent rows [z̄ᵀ; 0; (ε̄ᵀ); (c̄ᵀ)] with ε̄ = direct part + the tangent chain's. */
  function stateGrad(host: HostBuffers, zBar: T, probeBar: T | null, uBar0: T | null, cBar: T | null, B: number): T {
    const out = host.alloc([width, B]);
    const [o, zb] = [host.view(out), host.view(zBar)];
    const [pb, ub] = probeBar ? [host.view(probeBar), host.view(uBar0!)] : [null, null];
    const cb = cBar ? host.view(cBar) : null;
    o.fill(0, D * B, (pb ? probeRow : width - C) * B);
    for (let d = 0; d < D; d++) {
      for (let b = 0; b < B; b++) o[d * B + b] = zb[b * D + d]!;
      if (pb) for (let b = 0, r0 = (probeRow + d) * B; b < B; b++) o[r0 + b] = pb[b * D + d]! + ub![b * D + d]!;
    }
    for (let k = 0; k < C; k++) for (let b = 0, r0 = (width - C + k) * B; b < B; b++) o[r0 + b] = cb ? cb[b * C + k]! : 0;
    return out;
  }

  return { forward, backward };
}
