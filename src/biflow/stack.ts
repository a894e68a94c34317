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
import { buildAll, Sequential } from '../flows/compose.js';
import { ActNorm, AdditiveCoupling, AffineCoupling, DiagonalScaling, LULinear, Permutation, SplineCoupling } from '../discrete/index.js';
import { CNF } from '../ffjord/cnf.js';
import type { CNFOptions } from '../ffjord/cnf.js';
import { checkCNFOptions } from '../ffjord/options.js';
import type { ActivationName } from '../nn/activations.js';
import { checkHidden } from '../nn/odenet.js';

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
  /** Width of the context every coupling's conditioner (and every CNF's ODE net) reads (default 0). */
  contextDim?: number;
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

/** Spline bins and bound: integers ≥ 2 and a positive finite bound (SplineCoupling's own rule, checked before anything is built). */
export function checkSpline(fn: string, bins: unknown, bound: unknown, prefix = ''): void {
  if (!Number.isSafeInteger(bins) || (bins as number) < 2) throw new InvalidArgumentError(fn, `${prefix}bins`, bins, 'must be an integer ≥ 2, got {value}. The default is 8.');
  if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= 0) throw new InvalidArgumentError(fn, `${prefix}bound`, bound, 'must be a positive finite number, got {value}. The default is 4.');
}

/** Settings a CNF block takes from elsewhere (the flow's dim and seed, the block's hidden), so not from its `cnf` options. */
export const CNF_OWN_KEYS = ['dim', 'hidden', 'seed'] as const;

/** Rejects CNF options where a key of {@link CNF_OWN_KEYS} is set (`where` says where it belongs). */
export function checkBlockCNF(fn: string, cnf: unknown, prefix: string, where: string): void {
  checkCNFOptions(fn, cnf as Partial<CNFOptions>, prefix);
  for (const k of CNF_OWN_KEYS) {
    const v = (cnf as Record<string, unknown>)[k];
    if (v !== undefined) throw new InvalidArgumentError(fn, `${prefix}${k}`, v, `is not set here (got {value}): ${where}.`);
  }
}

const SPEC_KEYS = ['kind', 'hidden', 'bins', 'bound', 'cnf'];

/** Rejects a malformed list of block specs by name, before any block is built. */
export function checkBlocks(fn: string, blocks: unknown): asserts blocks is readonly BlockSpec[] {
  if (!Array.isArray(blocks) || blocks.length === 0) {
    throw new InvalidArgumentError(fn, 'blocks', blocks, "must be a non-empty array such as ['actnorm', 'cnf', 'lu', 'spline', 'cnf'], got {value}.");
  }
  blocks.forEach((raw: unknown, i) => {
    const b = spec(raw as BlockSpec) as Record<string, unknown> | null;
    if (b == null || typeof b !== 'object' || !BLOCK_KINDS.includes(b.kind as BlockKind)) {
      throw new InvalidArgumentError(fn, `blocks[${i}]`, raw, `is not a block, got {value}. Use one of ${BLOCK_KINDS.join(', ')} or { kind, … }.`);
    }
    for (const k of Object.keys(b)) if (!SPEC_KEYS.includes(k)) throw new InvalidArgumentError(fn, `blocks[${i}].${k}`, b[k], `is not a block option (got {value}). Known: ${SPEC_KEYS.join(', ')}.`);
    if (b.hidden !== undefined) checkHidden(fn, b.hidden, `blocks[${i}].hidden`);
    if (b.bins !== undefined || b.bound !== undefined) checkSpline(fn, b.bins ?? 8, b.bound ?? 4, `blocks[${i}].`);
    if (b.cnf !== undefined) checkBlockCNF(fn, b.cnf, `blocks[${i}].cnf.`, `give blocks[${i}].hidden, or the flow's dim and seed`);
  });
}

/** What a CNF block is given for a context of width `contextDim`: the one place conditional CNFs are wired. */
export function cnfContext(contextDim: number): { contextDim: number } {
  return { contextDim };
}

/** Builds the blocks of a stack; couplings alternate their parity among themselves. */
function buildBlocks(o: StackOptions): Bijector[] {
  const { dim, seed = 0, activation = 'relu', bins = 8, bound = 4, contextDim = 0 } = o;
  let couplings = 0;
  const make = (raw: BlockSpec, i: number): Bijector => {
    const b = spec(raw);
    const s = seed * 1000 + i;
    const hidden = b.hidden ?? (b.kind === 'cnf' ? o.cnfHidden : o.hidden) ?? (b.kind === 'cnf' ? [64, 64, 64] : [64, 64]);
    const parity = couplings % 2 === 0 ? 'even' : 'odd';
    switch (b.kind) {
      case 'actnorm': return new ActNorm(dim);
      case 'lu': return new LULinear(dim, s);
      case 'permutation': return new Permutation(dim, { seed: s });
      case 'scale': return new DiagonalScaling(dim);
      case 'additive': couplings++; return new AdditiveCoupling({ dim, parity, hidden, activation, seed: s, contextDim });
      case 'affine': couplings++; return new AffineCoupling({ dim, parity, hidden, activation, seed: s, contextDim });
      case 'spline': couplings++; return new SplineCoupling({ dim, parity, hidden, bins: b.bins ?? bins, bound: b.bound ?? bound, seed: s, contextDim });
      case 'cnf': {
        const act = activation === 'relu' ? 'tanh' : activation;
        return new CNF({ activation: act, ...o.cnf, ...b.cnf, dim, hidden, seed: s, ...cnfContext(contextDim) });
      }
    }
  };
  return buildAll((add) => o.blocks.forEach((raw, i) => add(make(raw, i))));
}

/** A Sequential of mixed blocks that reports per-block seconds (Sequential times each block) and solver statistics. */
export class Stack extends Sequential {
  readonly kinds: BlockKind[];

  constructor(options: StackOptions) {
    checkBlocks('Stack', options.blocks);
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
