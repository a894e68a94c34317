/**
 * Buffer-sharing Identity and same-dtype Cast for tfjs-backend-wasm. The wasm backend copies the
 * buffer for both (malloc + memcpy), where the cpu backend only counts one more reference. Every
 * taped op clones the tensors its gradient needs through Identity, and gradient functions cast
 * float32 to float32, so a FFJORD iteration ran a thousand copies of [B, 64] tensors. Tensors are
 * immutable and the wasm backend counts references per buffer (its Reshape already shares), so
 * sharing is safe.
 */
import { tf } from './engine.js';

let installed = false;

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; attrs?: Record<string, unknown>; backend: { incRef(dataId: unknown): void } };

/** Replaces the wasm backend's Identity and Cast kernels by sharing ones (once per process). */
export function shareWasmBuffers(): void {
  if (installed) return;
  const cast = tf.getKernel('Cast', 'wasm');
  const identity = tf.getKernel('Identity', 'wasm');
  if (!identity || !cast) return;
  installed = true;
  const share = (x: tf.TensorInfo, backend: KernelArgs['backend']): tf.TensorInfo => {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    ...identity,
    kernelFunc: ((args: KernelArgs) => (args.inputs.x!.dtype === 'string' ? identity.kernelFunc(args as never) : share(args.inputs.x!, args.backend))) as unknown as tf.KernelFunc,
  });
  tf.unregisterKernel('Cast', 'wasm');
  tf.registerKernel({
    ...cast,
    kernelFunc: ((args: KernelArgs) => {
      const x = args.inputs.x!;
      return x.dtype === args.attrs?.dtype && x.dtype !== 'string' ? share(x, args.backend) : cast.kernelFunc(args as never);
    }) as unknown as tf.KernelFunc,
  });
}
