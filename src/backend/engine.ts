/**
 * The tensor engine: the one `@tensorflow/tfjs-core` instance biflow uses, re-exported so user code
 * creates tensors and variables on the same engine (`import { tf } from 'biflow'`). tfjs-core alone
 * registers no gradients: `#tf-gradients` (package.json `imports`) does — in Node through
 * `@tensorflow/tfjs-layers`, whose Node bundle is the one scoped package that registers all of
 * core's gradients in a form Node can load (core's own `dist/register_all_gradients.js` is ESM
 * with extensionless imports, which only bundlers resolve); in browsers through that very file,
 * which the bundler resolves in the same module graph as core. The cpu backend is always there.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '#tf-gradients';

/**
 * Two of tfjs-core's own gradients call chained tensor methods — Prod's `x.reshape(…)`, and
 * GatherV2's with `batchDims` `x.split(…)`, `t.slice(…)`, `t.reshape(…)` — which only the
 * `@tensorflow/tfjs` umbrella registers (with every other chained method). Without them those
 * gradients throw "… is not a function", so these three are defined where absent, as the
 * umbrella defines them: the op applied to the tensor. The umbrella, if an application loads it,
 * replaces them with its own.
 */
const CHAINED_BY_CORE_GRADIENTS: Record<string, (x: tf.Tensor, ...args: never[]) => unknown> = { reshape: tf.reshape, slice: tf.slice, split: tf.split };
const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
for (const [name, op] of Object.entries(CHAINED_BY_CORE_GRADIENTS)) {
  if (typeof proto[name] !== 'function') {
    proto[name] = function chained(this: tf.Tensor, ...args: never[]) {
      this.throwIfDisposed();
      return op(this, ...args);
    };
  }
}

export { tf };
