/**
 * The conditioning input of a conditional flow q(x | c): what callers may pass as `context`, and
 * the one check that turns it into the `[N, contextDim]` rows every block reads (zuko's and
 * nflows' `context`). The Flow runs it before any block sees a context, so a block can trust the
 * rows it is handed.
 */
import { tf } from '../backend/engine.js';
import { readValues } from '../backend/reads.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * A context as callers give it: `[N, k]` rows (one per input row), or one context `[k]` / `[1, k]`
 * for every row — a tensor, nested number arrays, or a Float32Array (`k` values: one context;
 * `N·k` values: row-major rows).
 */
export type ContextInput = tf.Tensor1D | tf.Tensor2D | readonly number[] | readonly (readonly number[])[] | Float32Array;

/** The rows of `context` as [m, k] values, or a description of why it is not a context. */
function shapeOf(context: unknown, k: number): { rows: number; width: number; values: () => tf.Tensor2D } | string {
  if (context instanceof tf.Tensor) {
    if (context.rank === 1) return { rows: 1, width: context.shape[0]!, values: () => tf.reshape(context, [1, -1]) as tf.Tensor2D };
    if (context.rank === 2) return { rows: context.shape[0]!, width: context.shape[1]!, values: () => tf.clone(context) as tf.Tensor2D };
    return `a rank-${context.rank} tensor`;
  }
  if (context instanceof Float32Array) {
    if (k > 0 && context.length % k === 0 && context.length > 0) return { rows: context.length / k, width: k, values: () => tf.tensor2d(context, [context.length / k, k]) };
    return { rows: 1, width: context.length, values: () => tf.tensor2d(context, [1, context.length]) };
  }
  if (Array.isArray(context)) {
    if (context.every((v) => typeof v === 'number')) return { rows: 1, width: context.length, values: () => tf.tensor2d(context as number[], [1, context.length]) };
    if (context.every((r) => Array.isArray(r) && r.every((v) => typeof v === 'number'))) {
      const rows = context as number[][];
      const width = rows[0]?.length ?? 0;
      if (rows.some((r) => r.length !== width)) return 'ragged rows';
      return { rows: rows.length, width, values: () => tf.tensor2d(rows.flat(), [rows.length, width]) };
    }
  }
  return 'not a tensor, number array or Float32Array';
}

/**
 * The context rows for `n` input rows of a flow with `contextDim` k, as a new `[n, k]` tensor the
 * caller owns (one context is repeated for every row), or `undefined` for an unconditional flow.
 * Typed errors, all naming `context`, before any work: missing for a conditional flow, given to an
 * unconditional one, wrong width, a row count that is neither 1 nor n, a NaN or ±Inf entry.
 */
export function contextRows(fn: string, context: unknown, contextDim: number, n: number): tf.Tensor2D | undefined {
  if (contextDim === 0) {
    if (context === undefined) return undefined;
    throw new InvalidArgumentError(fn, 'context', describeShape(context), 'was given to an unconditional flow (contextDim 0), got {value}. Drop it, or build the flow with createFlow({ …, contextDim }).');
  }
  if (context === undefined || context === null) {
    throw new InvalidArgumentError(fn, 'context', context, `is missing, got {value}: this flow is conditional (contextDim ${contextDim}). Pass { context } as [N, ${contextDim}] rows or one [${contextDim}] context for every row.`);
  }
  const s = shapeOf(context, contextDim);
  if (typeof s === 'string') throw new InvalidArgumentError(fn, 'context', s, `must be [N, ${contextDim}] rows or one [${contextDim}] context (a tensor, number arrays or a Float32Array), got {value}.`);
  if (s.width !== contextDim) throw new InvalidArgumentError(fn, 'context', [s.rows, s.width], `must have ${contextDim} columns (the flow's contextDim), got shape {value}.`);
  if (s.rows !== 1 && s.rows !== n) throw new InvalidArgumentError(fn, 'context', s.rows, `must have 1 row (one context for all) or ${n} (one per row), got {value} rows.`);
  const rows = s.values();
  let kept = false;
  try {
    const bad = readValues(tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(rows)))), fn)[0];
    if (bad) throw new InvalidArgumentError(fn, 'context', 'a NaN or ±Inf entry', 'must be finite, got {value}. Drop or impute the rows whose context is not finite.');
    if (s.rows !== n) return tf.tidy(() => tf.tile(rows, [n, 1]) as tf.Tensor2D);
    kept = true;
    return rows;
  } finally {
    if (!kept) rows.dispose();
  }
}

/** The shape of a context-like value, for messages. */
function describeShape(context: unknown): unknown {
  return context instanceof tf.Tensor ? context.shape : context instanceof Float32Array ? `Float32Array(${context.length})` : context;
}
