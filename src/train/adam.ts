/**
 * Adam (Kingma & Ba, arXiv:1412.6980) with decoupled weight decay (Loshchilov & Hutter,
 * arXiv:1711.05101), whose whole state can be saved and restored exactly.
 *
 * The update is tfjs's `tf.train.adam` op for op (so a run trains as it did with it), plus the
 * trainer's decay w ← w·(1 − lr·λ) after each step. The difference is the state: tfjs keeps the
 * running products β₁ᵗ, β₂ᵗ as float32 tensors and, on `setWeights`, rebuilds them as pow(β, t),
 * which differs from the running product by an ulp at some t (25, 50, 55, 95, 160, … for
 * β₂ = 0.999), so a resumed run drifted from the uninterrupted one. Here the state is the step
 * count and the moments; the running products are recomputed from the count by the very float32
 * multiplications the steps did (`Math.fround` of a product of two float32 values is the correctly
 * rounded float32 product), so a restored optimizer continues bit for bit.
 */
import { tf } from '../backend/engine.js';
import { KernelRunner } from '../backend/kernels.js';
import type { HostBuffers } from '../backend/kernels.js';
import { heapAddress, simdModule } from '../backend/wasm-simd.js';

/** Options of {@link Adam}. */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  /** Default: the backend's epsilon (1e-7 on float32 backends), as tfjs's Adam. */
  epsilon?: number;
  /** Decoupled weight decay λ (default 0). */
  weightDecay?: number;
  /** The update as host loops where the backend allows (default true; the same bits); false runs it as kernels. */
  fused?: boolean;
}

/** β^(step+1), the factor the next step corrects by, as tfjs's float32 running product computes it. */
const runningPower = (beta: number, step: number): number => {
  const b = Math.fround(beta);
  let acc = b;
  for (let i = 0; i < step; i++) acc = Math.fround(acc * b);
  return acc;
};

/**
 * One variable's update as one host loop (wasm heap, cpu arrays) instead of a dozen kernels: the
 * kernel path's float32 operations in its order, each rounded by Math.fround (a float64 result of
 * +, −, ×, ÷, √ on float32 operands rounds to the correctly rounded float32 one: 53 ≥ 2·24 + 2),
 * so both paths give the same bits.
 */
function hostStep(r: KernelRunner, host: HostBuffers, [w, m, v]: readonly tf.Variable[], g: tf.Tensor, o: Required<Omit<AdamOptions, 'fused'>> & { c1: number; c2: number }): void {
  const f = Math.fround;
  const [b1, b2, a1, a2, eps, c1, c2, lr] = [o.beta1, o.beta2, 1 - o.beta1, 1 - o.beta2, o.epsilon, o.c1, o.c2, -o.lr].map(f) as number[] as [number, number, number, number, number, number, number, number];
  const decay = o.weightDecay > 0 ? f(1 - o.lr * o.weightDecay) : 1;
  // The moments are the optimizer's own: updated in place unless someone else holds their buffer
  // (a restored state's tensor, say). The weights always get new buffers: tfjs-wasm caches the
  // packed form of a product's right operand on its buffer, so a weight changed in place would
  // keep multiplying as its old value.
  const own = (x: tf.Variable) => (tf.engine().backend as unknown as { refCount(id: unknown): number }).refCount(x.dataId) === 1;
  const [mo, vo, wo] = [own(m!) ? m! : host.alloc(w!.shape), own(v!) ? v! : host.alloc(w!.shape), host.alloc(w!.shape)];
  // On tfjs-wasm the SIMD module's float32 operations, four at a time, take the elements up to a
  // multiple of 4 (the same operations in the same order: the same bits, ≈ 10× faster than this
  // loop's float64 arithmetic rounded by Math.fround); the loop takes the rest, or all elsewhere.
  const simd = simdModule();
  const size = g.size;
  const n4 = simd ? size - (size % 4) : 0;
  if (n4 > 0) simd!.adam(...[g, m!, v!, w!, mo, vo, wo].map(heapAddress), n4, b1, b2, a1, a2, eps, c1, c2, lr, decay);
  const [gv, mv, vv, wv, mn, vn, wn] = n4 < size ? [g, m!, v!, w!, mo, vo, wo].map((x) => host.view(x)) : [];
  for (let k = n4; k < size; k++) {
    const gk = gv![k]!;
    const mk = f(f(mv![k]! * b1) + f(gk * a1));
    const vk = f(f(vv![k]! * b2) + f(f(gk * gk) * a2));
    mn![k] = mk;
    vn![k] = vk;
    const wk = f(f(f(f(mk / c1) / f(f(Math.sqrt(f(vk / c2))) + eps)) * lr) + wv![k]!);
    wn![k] = decay === 1 ? wk : f(wk * decay);
  }
  if (mo !== m) m!.assign(r.keep(mo));
  if (vo !== v) v!.assign(r.keep(vo));
  w!.assign(r.keep(wo));
}

/** Adam over a fixed list of variables; `step` updates them with one gradient each. */
export class Adam {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private steps = 0;
  /** β₁ᵗ⁺¹ and β₂ᵗ⁺¹ as tfjs's float32 running products (t = steps). */
  private acc: [number, number];
  private readonly o: Required<Omit<AdamOptions, 'fused'>>;
  private readonly fused: boolean;

  constructor(
    readonly vars: readonly tf.Variable[],
    { lr, beta1 = 0.9, beta2 = 0.999, epsilon = tf.backend().epsilon(), weightDecay = 0, fused = true }: AdamOptions,
  ) {
    this.o = { lr, beta1, beta2, epsilon, weightDecay };
    this.fused = fused;
    this.acc = [runningPower(beta1, 0), runningPower(beta2, 0)];
    const zeros = () => vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.m = zeros();
    this.v = zeros();
  }

  /** Steps taken (restored with the moments by {@link setState}). */
  get step(): number {
    return this.steps;
  }

  /** One update; `grads[i]` is the gradient of `vars[i]` (a missing one leaves it and its moments). */
  apply(grads: readonly (tf.Tensor | null | undefined)[]): void {
    const { lr, beta1, beta2, epsilon, weightDecay } = this.o;
    const [c1, c2] = this.acc.map((a) => Math.fround(1 - a)) as [number, number];
    const r = this.fused ? KernelRunner.create() : null;
    const host = r?.hostOrCpu() ?? null;
    if (r && host) {
      try {
        tf.tidy(() => this.vars.forEach((w, i) => {
          const g = grads[i];
          if (g) hostStep(r, host, [w, this.m[i]!, this.v[i]!], g, { ...this.o, c1, c2 });
          else if (weightDecay > 0) w.assign(tf.mul(w, 1 - lr * weightDecay)); // decay reaches every variable, as below
        }));
      } finally {
        r.free();
      }
      this.advance();
      return;
    }
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        const g = grads[i];
        if (!g) return;
        const m = tf.add(tf.mul(this.m[i]!, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i]!, beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        w.assign(tf.add(tf.mul(tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), epsilon)), -lr), w));
      });
      if (weightDecay > 0) this.vars.forEach((w) => w.assign(tf.mul(w, 1 - lr * weightDecay)));
    });
    this.advance();
  }

  private advance(): void {
    const { beta1, beta2 } = this.o;
    this.steps++;
    this.acc = [Math.fround(this.acc[0] * Math.fround(beta1)), Math.fround(this.acc[1] * Math.fround(beta2))];
  }

  /** The state to save: the step count and the moments (first every m, then every v; not copies). */
  state(): { step: number; moments: tf.Variable[] } {
    return { step: this.steps, moments: [...this.m, ...this.v] };
  }

  /**
   * Restores a saved state; `moments` as {@link state} lists them (the caller disposes them).
   * Returns a description of the first mismatch instead of restoring, or null when done.
   */
  setState(step: number, moments: readonly tf.Tensor[]): string | null {
    const all = [...this.m, ...this.v];
    if (moments.length !== all.length) return `${moments.length} moments where the model's ${this.vars.length} variables need ${all.length}`;
    const bad = all.findIndex((x, i) => x.shape.join() !== moments[i]!.shape.join());
    if (bad >= 0) return `moment ${bad} has shape [${moments[bad]!.shape}] where its variable has [${all[bad]!.shape}]`;
    all.forEach((x, i) => x.assign(moments[i]!));
    this.steps = step;
    this.acc = [runningPower(this.o.beta1, step), runningPower(this.o.beta2, step)];
    return null;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
