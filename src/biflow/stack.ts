/**
 * Mixed stacks: any sequence of continuous (CNF) and discrete blocks as one bijector, with an
 * exact log-likelihood (the sum of the blocks' log-dets, CNF blocks by their ODE), exact
 * inverses, and per-block statistics — seconds per block of the latest forward and inverse
 * passes, and the NFE of each CNF block.
 *
 * @example
 * const flow = createFlow({ type: 'biflow', dim: 2, blocks: ['actnorm', 'cnf', 'lu', 'spline', { kind: 'cnf', hidden: [32, 32] }] });
 * flow.logProb(x);                              // exact
 * (flow.bijector as Stack).blockStats();        // [{ index, kind, forwardSeconds, inverseSeconds, nfeForward, … }]
 */
import { InvalidArgumentError } from '../errors.js';
import type { Bijector } from '../flows/bijector.js';
import { Sequential } from '../flows/compose.js';
import { ActNorm, AdditiveCoupling, AffineCoupling, DiagonalScaling, LULinear, Permutation, SplineCoupling } from '../discrete/index.js';
import { CNF } from '../ffjord/cnf.js';
import type { CNFOptions } from '../ffjord/cnf.js';
import type { ActivationName } from '../nn/activations.js';

/** The kinds of block a mixed stack can hold. */
export const BLOCK_KINDS = ['actnorm', 'lu', 'permutation', 'scale', 'additive', 'affine', 'spline', 'cnf'] as const;
/** One of {@link BLOCK_KINDS}. */
export type BlockKind = (typeof BLOCK_KINDS)[number];

/** One block of a mixed stack: a kind name, or an object with the kind and its options. */
export type BlockSpec =
  | BlockKind
  | {
      kind: BlockKind;
      /** Conditioner (couplings) or ODE-net (cnf) hidden sizes. */
      hidden?: number[];
      /** spline: bins and bound. */
      bins?: number;
      bound?: number;
      /** cnf: solver, trace, T, RNODE weights… (override the stack's shared `cnf` settings). */
      cnf?: Omit<CNFOptions, 'dim' | 'hidden' | 'seed'>;
    };

/** The default mixed stack: ActNorm → CNF → LU linear → spline coupling → CNF. */
export const DEFAULT_BLOCKS: readonly BlockSpec[] = ['actnorm', 'cnf', 'lu', 'spline', 'cnf'];

/** What a {@link Stack} is built from (createFlow's 'biflow' configuration passes these on). */
export interface StackOptions {
  dim: number;
  blocks: readonly BlockSpec[];
  /** Hidden sizes of the couplings' conditioners (default [64, 64]). */
  hidden?: number[];
  /** Hidden sizes of the CNF blocks' ODE nets (default [64, 64, 64]). */
  cnfHidden?: number[];
  activation?: ActivationName | 'relu';
  bins?: number;
  bound?: number;
  /** Solver settings shared by every CNF block. */
  cnf?: Omit<CNFOptions, 'dim' | 'hidden' | 'seed'>;
  seed?: number;
}

/** Per-block numbers of the latest passes. */
export interface BlockStats {
  index: number;
  kind: BlockKind;
  forwardSeconds: number;
  inverseSeconds: number;
  nfeForward?: number;
  nfeInverse?: number;
  nfeBackward?: number;
}

const spec = (b: BlockSpec) => (typeof b === 'string' ? { kind: b } : b);

/** Builds the blocks of a stack; couplings alternate their parity among themselves. */
function buildBlocks(o: StackOptions): Bijector[] {
  const { dim, seed = 0, activation = 'relu', bins = 8, bound = 4 } = o;
  let couplings = 0;
  return o.blocks.map((raw, i) => {
    const b = spec(raw);
    if (b == null || !BLOCK_KINDS.includes(b.kind)) {
      throw new InvalidArgumentError('createFlow', `blocks[${i}]`, raw, `is not a block, got {value}. Use one of ${BLOCK_KINDS.join(', ')} or { kind, … }.`);
    }
    const s = seed * 1000 + i;
    const hidden = b.hidden ?? (b.kind === 'cnf' ? o.cnfHidden : o.hidden) ?? (b.kind === 'cnf' ? [64, 64, 64] : [64, 64]);
    const parity = couplings % 2 === 0 ? 'even' : 'odd';
    switch (b.kind) {
      case 'actnorm': return new ActNorm(dim);
      case 'lu': return new LULinear(dim, s);
      case 'permutation': return new Permutation(dim, { seed: s });
      case 'scale': return new DiagonalScaling(dim);
      case 'additive': couplings++; return new AdditiveCoupling({ dim, parity, hidden, activation, seed: s });
      case 'affine': couplings++; return new AffineCoupling({ dim, parity, hidden, activation, seed: s });
      case 'spline': couplings++; return new SplineCoupling({ dim, parity, hidden, bins: b.bins ?? bins, bound: b.bound ?? bound, seed: s });
      case 'cnf': {
        const act = activation === 'relu' ? 'tanh' : activation;
        return new CNF({ activation: act, ...o.cnf, ...b.cnf, dim, hidden, seed: s });
      }
    }
  });
}

/** A Sequential of mixed blocks that reports per-block seconds (Sequential times each block) and solver statistics. */
export class Stack extends Sequential {
  readonly kinds: BlockKind[];

  constructor(options: StackOptions) {
    if (!Array.isArray(options.blocks) || options.blocks.length === 0) {
      throw new InvalidArgumentError('createFlow', 'blocks', options.blocks, "must be a non-empty array such as ['actnorm', 'cnf', 'lu', 'spline', 'cnf'], got {value}.");
    }
    super(buildBlocks(options));
    this.kinds = options.blocks.map((b) => spec(b).kind);
  }

  /** Seconds and NFE of each block in the latest forward and inverse passes. */
  blockStats(): BlockStats[] {
    return this.blocks.map((b, i) => ({
      index: i,
      kind: this.kinds[i]!,
      forwardSeconds: this.forwardSeconds[i]!,
      inverseSeconds: this.inverseSeconds[i]!,
      ...(b.solverStats?.() ?? {}),
    }));
  }

  /** Totals over the CNF blocks, and each CNF block's own NFE as `cnf<i>.nfeForward` etc. */
  override solverStats(): Record<string, number> {
    const out = super.solverStats();
    this.blocks.forEach((b, i) => {
      for (const [k, v] of Object.entries(b.solverStats?.() ?? {})) out[`cnf${i}.${k}`] = v;
    });
    return out;
  }
}
