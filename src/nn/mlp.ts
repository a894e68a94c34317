/**
 * A small multilayer perceptron, the conditioner of coupling layers: in → hidden… → out, with an
 * activation between layers and (by default) a zero-initialised last layer so that a coupling
 * starts as the identity (Dinh et al.; Kingma & Dhariwal).
 */
import { tf } from '../backend/engine.js';
import { checkParameters } from '../backend/memory.js';
import { InvalidArgumentError } from '../errors.js';
import { ACTIVATIONS, checkActivation } from './activations.js';
import type { ActivationName } from './activations.js';

export interface MLPOptions {
  activation?: ActivationName | 'relu';
  /** Zero weights and bias in the last layer (default true). */
  zeroLast?: boolean;
  /**
   * The other layers' initial values: 'glorot' (default) Glorot-uniform weights and zero biases;
   * 'fan-in' weights and biases uniform in ±1/√fan-in (PyTorch's `nn.Linear`, zuko's conditioners).
   * Random biases matter for a ReLU net on a few inputs: with zero biases every first-layer unit has
   * its kink at the origin, and the net starts as a function with a single kink per input.
   */
  init?: 'glorot' | 'fan-in';
  seed?: number;
}

/** A multilayer perceptron, the conditioner of coupling layers (last layer zero-initialised so couplings start as the identity). */
export class MLP {
  readonly weights: tf.Variable[] = [];
  readonly biases: tf.Variable[] = [];
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(
    readonly inDim: number,
    readonly hidden: readonly number[],
    readonly outDim: number,
    { activation = 'tanh', zeroLast = true, seed = 0, init = 'glorot' }: MLPOptions = {},
  ) {
    const sizes = [inDim, ...hidden, outDim];
    sizes.forEach((s, i) => {
      if (!Number.isInteger(s) || s < 1) throw new InvalidArgumentError('MLP', i === 0 ? 'inDim' : i === sizes.length - 1 ? 'outDim' : `hidden[${i - 1}]`, s, 'must be a positive integer, got {value}.');
    });
    checkActivation('MLP', activation, { relu: true });
    if (init !== 'glorot' && init !== 'fan-in') throw new InvalidArgumentError('MLP', 'init', init, "must be 'glorot' or 'fan-in', got {value}.");
    checkParameters('MLP', hidden, sizes.slice(1).map((o, l) => [sizes[l]!, o] as const), 1);
    this.act = activation === 'relu' ? tf.relu : ACTIVATIONS[activation];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const [fanIn, fanOut] = [sizes[l]!, sizes[l + 1]!];
      const last = l + 2 === sizes.length;
      const zero = last && zeroLast;
      // Glorot uniform, or PyTorch's ±1/√fan-in; tfjs seeds must be ≥ 1 (0 means unseeded).
      const limit = init === 'glorot' ? Math.sqrt(6 / (fanIn + fanOut)) : 1 / Math.sqrt(fanIn);
      this.weights.push(tf.tidy(() => tf.variable(zero ? tf.zeros([fanIn, fanOut]) : tf.randomUniform([fanIn, fanOut], -limit, limit, 'float32', seed * 1009 + l + 1))));
      const randomBias = init === 'fan-in' && !zero;
      this.biases.push(tf.tidy(() => tf.variable(randomBias ? tf.randomUniform([fanOut], -limit, limit, 'float32', seed * 1013 + l + 7) : tf.zeros([fanOut]))));
    }
  }

  /** The network applied to the rows of x. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      this.weights.forEach((W, l) => {
        h = tf.add(tf.matMul(h, W), this.biases[l]!);
        if (l + 1 < this.weights.length) h = this.act(h);
      });
      return h as tf.Tensor2D;
    });
  }

  get variables(): tf.Variable[] {
    return this.weights.flatMap((W, l) => [W, this.biases[l]!]);
  }

  /** Releases the variables. */
  dispose(): void {
    tf.dispose(this.variables);
  }
}
