/**
 * Arithmetic on host buffers (see `KernelRunner.host`) that fused ops share.
 */
import type { tf } from './engine.js';
import type { HostBuffers } from './kernels.js';

/**
 * xᵀ of a matrix, column by column: strided reads and sequential writes, 2–4× faster here on
 * [1024, 64] than row by row (whose writes stride by the row count).
 */
export function hostTranspose(host: HostBuffers, x: tf.TensorInfo): tf.TensorInfo {
  const [m, n] = x.shape as [number, number];
  const out = host.alloc([n, m]);
  const [a, o] = [host.view(x), host.view(out)];
  for (let j = 0, w = 0; j < n; j++) for (let i = 0, k = j; i < m; i++, k += n, w++) o[w] = a[k]!;
  return out;
}
