import { InvalidArgumentError } from '../errors.js';
import { compileStep } from './float64-kernel.js';
import type { RKWork } from './solver.js';
import type { NormKind, StateSpace, Stepper, Tolerance, VectorField } from './space.js';
import type { ButcherTableau } from './tableau.js';

/**
 * Plain float64 states. Every operation writes into a preallocated buffer, so a solve's inner
 * loop allocates nothing (unless `f` itself returns a fresh array).
 */
class Float64Space implements StateSpace<Float64Array> {
  readonly name = 'Float64Array';
  private scratch = new Float64Array(0);

  init(y0: Float64Array | ArrayLike<number>, fn: string): Float64Array {
    if (y0 == null || typeof (y0 as ArrayLike<number>).length !== 'number') {
      throw new InvalidArgumentError(fn, 'y0', y0, 'must be a Float64Array or an array of numbers, got {value}. Pass e.g. Float64Array.of(1, 0).');
    }
    const y = Float64Array.from(y0 as ArrayLike<number>);
    if (y.length === 0) throw new InvalidArgumentError(fn, 'y0', y0, 'must have at least one component, got {value}.');
    for (let i = 0; i < y.length; i++) {
      if (!Number.isFinite(y[i]!)) {
        throw new InvalidArgumentError(fn, `y0[${i}]`, y[i], 'must be finite, got {value}. Check how the initial state is computed.');
      }
    }
    return y;
  }

  buffer(like: Float64Array): Float64Array {
    return new Float64Array(like.length);
  }

  copy(y: Float64Array): Float64Array {
    return y.slice();
  }

  lincomb(
    out: Float64Array,
    base: Float64Array | null,
    scale: number,
    coeffs: ArrayLike<number>,
    vecs: readonly Float64Array[],
    n: number,
  ): Float64Array {
    // Component-outer, vector-inner: one pass over `out` however many vectors there are, which
    // matters for the small states of scientific ODEs (2–10 components, up to 14 stages).
    const len = out.length;
    for (let i = 0; i < len; i++) {
      let acc = 0;
      for (let j = 0; j < n; j++) {
        const c = coeffs[j]!;
        if (c !== 0) acc += c * vecs[j]![i]!;
      }
      out[i] = base === null ? scale * acc : base[i]! + scale * acc;
    }
    return out;
  }

  evaluate(f: VectorField<Float64Array>, t: number, y: Float64Array, out: Float64Array, fn: string): Float64Array {
    const r = f(t, y, out);
    if (r === undefined || r === out) return out;
    if (r === null || typeof (r as ArrayLike<number>).length !== 'number') {
      throw new InvalidArgumentError(fn, 'f', r, `must return an array of ${out.length} numbers (or fill its third argument), got {value} at t = ${t}.`);
    }
    const arr = r as ArrayLike<number>;
    if (arr.length !== out.length) {
      throw new InvalidArgumentError(
        fn, 'f', arr,
        `returned ${arr.length} values at t = ${t} for a state of length ${out.length}: {value}. Make f return one derivative per component of y0.`,
      );
    }
    for (let i = 0; i < arr.length; i++) out[i] = arr[i]!;
    return out;
  }

  errorNorm(err: Float64Array, y0: Float64Array, y1: Float64Array, tol: Tolerance): number {
    const { rtol, atol } = tol;
    const norm: NormKind = tol.norm ?? 'rms';
    const n = err.length;
    const scalar = typeof rtol === 'number' && typeof atol === 'number';
    if (scalar && norm !== 'max' && typeof norm !== 'function') {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const a = Math.abs(y0[i]!);
        const b = Math.abs(y1[i]!);
        const e = err[i]! / (atol + rtol * (a > b ? a : b));
        acc += e * e;
      }
      return Math.sqrt(acc / n);
    }
    if (this.scratch.length !== n) this.scratch = new Float64Array(n);
    const e = this.scratch;
    for (let i = 0; i < n; i++) {
      const r = typeof rtol === 'number' ? rtol : rtol[i]!;
      const a = typeof atol === 'number' ? atol : atol[i]!;
      e[i] = err[i]! / (a + r * Math.max(Math.abs(y0[i]!), Math.abs(y1[i]!)));
    }
    if (typeof norm === 'function') return norm(e);
    let acc = 0;
    if (norm === 'max') {
      for (let i = 0; i < n; i++) {
        const v = Math.abs(e[i]!);
        if (!(v <= acc)) acc = v; // also propagates NaN
      }
      return acc;
    }
    for (let i = 0; i < n; i++) acc += e[i]! * e[i]!;
    return Math.sqrt(acc / n);
  }

  fusedStepper(
    tableau: ButcherTableau,
    f: VectorField<Float64Array>,
    work: RKWork<Float64Array>,
    tol: Tolerance | null,
    fn: string,
  ): Stepper<Float64Array> | null {
    const kernel = compileStep(tableau);
    if (!kernel) return null;
    const { ks } = work;
    const store = (result: unknown, i: number, t: number): void => {
      this.evaluate(() => result as ArrayLike<number>, t, ks[i]!, ks[i]!, fn);
    };
    const scalar = tol !== null && typeof tol.rtol === 'number' && typeof tol.atol === 'number';
    const fuseNorm = scalar && (tol.norm === undefined || tol.norm === 'rms');
    const rtol = scalar ? (tol.rtol as number) : 0;
    const atol = scalar ? (tol.atol as number) : 0;
    const adaptive = tol !== null && tableau.e !== undefined;
    return (t, y, h) => {
      const r = kernel(f, store, t, y, h, ks, work.stage, work.y1, work.err, rtol, atol, fuseNorm);
      if (!adaptive) return this.isFinite(work.y1) ? 0 : NaN;
      return r >= 0 ? r : this.errorNorm(work.err, y, work.y1, tol);
    };
  }

  isFinite(y: Float64Array): boolean {
    for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i]!)) return false;
    return true;
  }

  checkTolerance(tol: Tolerance, y0: Float64Array, fn: string): void {
    for (const key of ['rtol', 'atol'] as const) {
      const v = tol[key];
      const fix = `Pass e.g. { rtol: 1e-6, atol: 1e-9 }, or one non-negative number per component of y0.`;
      if (typeof v === 'number') {
        if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(fn, key, v, `must be a non-negative finite number, got {value}. ${fix}`);
        continue;
      }
      if (v == null || typeof v.length !== 'number') throw new InvalidArgumentError(fn, key, v, `must be a number or an array of numbers, got {value}. ${fix}`);
      if (v.length !== y0.length) {
        throw new InvalidArgumentError(fn, key, v, `has ${v.length} entries but the state has ${y0.length}: {value}. ${fix}`);
      }
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i]) || v[i]! < 0) throw new InvalidArgumentError(fn, `${key}[${i}]`, v[i], `must be a non-negative finite number, got {value}. ${fix}`);
      }
    }
    const norm = tol.norm;
    if (norm !== undefined && norm !== 'rms' && norm !== 'max' && typeof norm !== 'function') {
      throw new InvalidArgumentError(fn, 'norm', norm, `must be 'rms', 'max' or a function of the scaled error vector, got {value}.`);
    }
    for (let i = 0; i < y0.length; i++) {
      const r = typeof tol.rtol === 'number' ? tol.rtol : tol.rtol[i]!;
      const a = typeof tol.atol === 'number' ? tol.atol : tol.atol[i]!;
      if (r === 0 && a === 0) {
        throw new InvalidArgumentError(fn, 'atol', tol.atol, `and rtol are both 0 for component ${i}; the error test could never pass. Give that component a positive rtol or atol.`);
      }
    }
  }
}

/** The float64 state space (a singleton: it holds no per-solve state except a scratch buffer). */
export const float64Space = new Float64Space();
