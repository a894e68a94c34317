/**
 * Composition: `Sequential` runs blocks in order and sums their log-dets, and reverses itself for
 * the inverse; `Inverse` swaps a bijector's directions.
 */
import { tf } from '../backend/engine.js';
import { withTapeCleanup } from '../backend/tape.js';
import { InvalidArgumentError } from '../errors.js';
import type { Bijector, BijectorConfig, BijectorResult, InverseResult, PassOptions } from './bijector.js';

/** Blocks run in order, log-dets summed; the inverse runs them in reverse. */
export class Sequential implements Bijector {
  readonly dim: number;
  /** Wall seconds of each block in the latest forward and inverse passes. */
  readonly forwardSeconds: number[];
  readonly inverseSeconds: number[];

  constructor(readonly blocks: readonly Bijector[]) {
    if (blocks.length === 0) throw new InvalidArgumentError('Sequential', 'blocks', blocks, 'must hold at least one bijector, got {value}.');
    this.dim = blocks[0]!.dim;
    blocks.forEach((b, i) => {
      if (b.dim !== this.dim) throw new InvalidArgumentError('Sequential', `blocks[${i}].dim`, b.dim, `must equal the first block's dim ${this.dim}, got {value}.`);
    });
    this.forwardSeconds = blocks.map(() => 0);
    this.inverseSeconds = blocks.map(() => 0);
  }

  // withTapeCleanup: a block that throws under a gradient tape (a CNF solve on a NaN row) also
  // takes the earlier blocks' recorded ops off the tape, which would otherwise keep their saved tensors.
  forward(x: tf.Tensor2D, options?: PassOptions): BijectorResult {
    return withTapeCleanup(() => tf.tidy(() => {
      let y = x;
      let logDet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
      this.blocks.forEach((b, i) => {
        const start = performance.now();
        const r = b.forward(y, options);
        this.forwardSeconds[i] = (performance.now() - start) / 1000;
        y = r.y;
        logDet = tf.add(logDet, r.logDet);
      });
      return { y, logDet };
    }));
  }

  inverse(y: tf.Tensor2D, options?: PassOptions): InverseResult {
    return withTapeCleanup(() => tf.tidy(() => {
      let x = y;
      let logDet = tf.zeros([y.shape[0]]) as tf.Tensor1D;
      for (let i = this.blocks.length - 1; i >= 0; i--) {
        const start = performance.now();
        const r = this.blocks[i]!.inverse(x, options);
        this.inverseSeconds[i] = (performance.now() - start) / 1000;
        x = r.x;
        logDet = tf.add(logDet, r.logDet);
      }
      return { x, logDet };
    }));
  }

  initialize(x: tf.Tensor2D, options?: PassOptions): void {
    tf.tidy(() => {
      let y = x;
      for (const b of this.blocks) {
        b.initialize?.(y, options);
        y = b.forward(y, options).y;
      }
    });
  }

  get trainableVariables(): tf.Variable[] {
    return this.blocks.flatMap((b) => b.trainableVariables);
  }

  regularization(): tf.Scalar | null {
    const parts = this.blocks.map((b) => b.regularization?.() ?? null).filter((r): r is tf.Scalar => r !== null);
    if (parts.length <= 1) return parts[0] ?? null;
    const total = tf.keep(tf.addN(parts)) as tf.Scalar;
    tf.dispose(parts);
    return total;
  }

  solverStats(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const b of this.blocks) for (const [k, v] of Object.entries(b.solverStats?.() ?? {})) total[k] = (total[k] ?? 0) + v;
    return total;
  }

  getConfig(): BijectorConfig {
    return { kind: 'sequential', blocks: this.blocks.map((b) => b.getConfig()) };
  }

  dispose(): void {
    this.blocks.forEach((b) => b.dispose());
  }
}

/**
 * The blocks `build` adds, in order. If building one fails (its memory, say), the ones already
 * built are disposed before the error propagates, so a failed construction leaves no variables.
 */
export function buildAll(build: (add: (b: Bijector) => void) => void): Bijector[] {
  const blocks: Bijector[] = [];
  try {
    build((b) => blocks.push(b));
    return blocks;
  } catch (e) {
    blocks.forEach((b) => b.dispose());
    throw e;
  }
}

/**
 * The blocks of a bijector with nested Sequentials flattened, in forward order.
 *
 * @example
 * ```ts
 * import { createFlow, leafBlocks } from 'biflow';
 *
 * const flow = createFlow({ type: 'realnvp', dim: 2, layers: 2 });
 * leafBlocks(flow.bijector).map((b) => b.constructor.name); // ['AffineCoupling', 'AffineCoupling']
 * ```
 */
export function leafBlocks(b: Bijector): Bijector[] {
  return b instanceof Sequential ? b.blocks.flatMap(leafBlocks) : [b];
}

/** A bijector run backwards: its forward is the wrapped block's inverse and vice versa. */
export class Inverse implements Bijector {
  constructor(readonly inner: Bijector) {}

  get dim(): number {
    return this.inner.dim;
  }

  forward(x: tf.Tensor2D, options?: PassOptions): BijectorResult {
    const r = this.inner.inverse(x, options);
    return { y: r.x, logDet: r.logDet };
  }

  inverse(y: tf.Tensor2D, options?: PassOptions): InverseResult {
    const r = this.inner.forward(y, options);
    return { x: r.y, logDet: r.logDet };
  }

  get trainableVariables(): tf.Variable[] {
    return this.inner.trainableVariables;
  }

  getConfig(): BijectorConfig {
    return { kind: 'inverse', inner: this.inner.getConfig() };
  }

  dispose(): void {
    this.inner.dispose();
  }
}
