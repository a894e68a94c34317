/** Seeded randomness for data generation (seedrandom's Alea), with Gaussian draws. */
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Integer in [0, n). */
  int(n: number): number;
}

export function rng(seed: number | string): Rng {
  const u = seedrandom.alea(String(seed));
  let spare: number | null = null;
  return {
    uniform: () => u(),
    normal: () => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let a = 0;
      while (a === 0) a = u();
      const b = u();
      const r = Math.sqrt(-2 * Math.log(a));
      spare = r * Math.sin(2 * Math.PI * b);
      return r * Math.cos(2 * Math.PI * b);
    },
    int: (n) => Math.floor(u() * n),
  };
}

/** Fisher–Yates shuffle of the rows of an [n, d] array, in place. */
export function shuffleRows(data: Float32Array, d: number, r: Rng): Float32Array {
  const n = data.length / d;
  const tmp = new Float32Array(d);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    tmp.set(data.subarray(i * d, i * d + d));
    data.copyWithin(i * d, j * d, j * d + d);
    data.set(tmp, j * d);
  }
  return data;
}
