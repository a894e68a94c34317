/**
 * The eight 2-D toy densities of FFJORD (Grathwohl et al. 2019, lib/toy_data.py), with the same
 * scales, generated from a seed so a run can be repeated exactly.
 */
import { InvalidArgumentError } from '../errors.js';
import { rng, shuffleRows } from './random.js';
import type { Rng } from './random.js';

/** FFJORD's eight 2-D toy densities. */
export const TOY_DATASETS = ['swissroll', '8gaussians', 'pinwheel', 'circles', 'moons', '2spirals', 'checkerboard', 'rings'] as const;
/** One of {@link TOY_DATASETS}. */
export type ToyDataset = (typeof TOY_DATASETS)[number];

type Gen = (n: number, r: Rng) => Float32Array;

const fill = (n: number, point: (i: number) => [number, number]): Float32Array => {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const [x, y] = point(i);
    out[2 * i] = x;
    out[2 * i + 1] = y;
  }
  return out;
};

const GENERATORS: Record<ToyDataset, Gen> = {
  // sklearn make_swiss_roll(noise=1.0), columns x and z, divided by 5.
  swissroll: (n, r) =>
    fill(n, () => {
      const t = 1.5 * Math.PI * (1 + 2 * r.uniform());
      return [(t * Math.cos(t) + r.normal()) / 5, (t * Math.sin(t) + r.normal()) / 5];
    }),
  '8gaussians': (n, r) => {
    const c = Math.SQRT1_2;
    const centers = [[1, 0], [-1, 0], [0, 1], [0, -1], [c, c], [c, -c], [-c, c], [-c, -c]];
    return fill(n, () => {
      const [cx, cy] = centers[r.int(8)]!;
      return [(r.normal() * 0.5 + 4 * cx!) / 1.414, (r.normal() * 0.5 + 4 * cy!) / 1.414];
    });
  },
  pinwheel: (n, r) => {
    const classes = 5;
    const perClass = Math.max(1, Math.floor(n / classes));
    const out = fill(n, (i) => {
      const label = Math.min(classes - 1, Math.floor(i / perClass));
      const radial = r.normal() * 0.3 + 1;
      const tangential = r.normal() * 0.1;
      const angle = (2 * Math.PI * label) / classes + 0.25 * Math.exp(radial);
      return [2 * (radial * Math.cos(angle) - tangential * Math.sin(angle)), 2 * (radial * Math.sin(angle) + tangential * Math.cos(angle))];
    });
    return shuffleRows(out, 2, r);
  },
  // sklearn make_circles(factor=0.5, noise=0.08), times 3.
  circles: (n, r) => {
    const outer = Math.floor(n / 2);
    return shuffleRows(fill(n, (i) => {
      const inner = i >= outer;
      const k = inner ? i - outer : i;
      const m = inner ? n - outer : outer;
      const a = (2 * Math.PI * k) / m;
      const s = inner ? 0.5 : 1;
      return [3 * (s * Math.cos(a) + 0.08 * r.normal()), 3 * (s * Math.sin(a) + 0.08 * r.normal())];
    }), 2, r);
  },
  // sklearn make_moons(noise=0.1), times 2, shifted by (−1, −0.2).
  moons: (n, r) => {
    const outer = Math.floor(n / 2);
    return shuffleRows(fill(n, (i) => {
      const inner = i >= outer;
      const m = inner ? n - outer : outer;
      const a = (Math.PI * (inner ? i - outer : i)) / Math.max(1, m - 1);
      const x = inner ? 1 - Math.cos(a) : Math.cos(a);
      const y = inner ? 1 - Math.sin(a) - 0.5 : Math.sin(a);
      return [2 * (x + 0.1 * r.normal()) - 1, 2 * (y + 0.1 * r.normal()) - 0.2];
    }), 2, r);
  },
  '2spirals': (n, r) => {
    const half = Math.floor(n / 2);
    return fill(n, (i) => {
      const t = Math.sqrt(r.uniform()) * 540 * (2 * Math.PI) / 360;
      const sign = i < half ? 1 : -1;
      const x = -Math.cos(t) * t + r.uniform() * 0.5;
      const y = Math.sin(t) * t + r.uniform() * 0.5;
      return [(sign * x) / 3 + r.normal() * 0.1, (sign * y) / 3 + r.normal() * 0.1];
    });
  },
  checkerboard: (n, r) =>
    fill(n, () => {
      const x1 = r.uniform() * 4 - 2;
      const x2 = r.uniform() - r.int(2) * 2 + (((Math.floor(x1) % 2) + 2) % 2);
      return [x1 * 2, x2 * 2];
    }),
  rings: (n, r) => {
    const q = Math.floor(n / 4);
    const counts = [n - 3 * q, q, q, q];
    const radii = [0.25, 0.5, 0.75, 1];
    const pts: [number, number][] = [];
    counts.forEach((m, ring) => {
      for (let k = 0; k < m; k++) {
        const a = (2 * Math.PI * k) / m;
        pts.push([3 * radii[ring]! * Math.cos(a), 3 * radii[ring]! * Math.sin(a)]);
      }
    });
    return shuffleRows(fill(n, (i) => [pts[i]![0] + 0.08 * r.normal(), pts[i]![1] + 0.08 * r.normal()]), 2, r);
  },
};

/**
 * n points of a toy density as a row-major [n, 2] Float32Array.
 *
 * @example
 * ```ts
 * import { toyData, TOY_DATASETS } from 'biflow';
 *
 * const xy = toyData('8gaussians', 1000, 1);  // Float32Array of 2000 numbers: x₀, y₀, x₁, y₁, …
 * TOY_DATASETS;                                // the names it takes
 * ```
 */
export function toyData(name: string, n: number, seed = 0): Float32Array {
  if (!(TOY_DATASETS as readonly string[]).includes(name)) {
    throw new InvalidArgumentError('toyData', 'name', name, `is not a toy dataset, got {value}. Use one of: ${TOY_DATASETS.join(', ')}, or a .csv/.npy file.`);
  }
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('toyData', 'n', n, 'must be a positive integer, got {value}.');
  return GENERATORS[name as ToyDataset](n, rng(`${name}:${seed}`));
}
