/**
 * Arithmetic on host buffers (see `KernelRunner.host`) that fused ops share.
 */
import type { tf } from './engine.js';
import type { HostBuffers } from './kernels.js';

/**
 * xᵀ of a matrix, column by column: strided reads and sequential writes, 2–4× faster here on
 * [1024, 64] than row by row (whose writes stride by the row count). With `onesRow`, a last row
 * of ones follows ([n + 1, m]): a product [xᵀ; 1ᵀ]·g then gives xᵀg and g's column sums at once.
 */
export function hostTranspose(host: HostBuffers, x: tf.TensorInfo, onesRow = false): tf.TensorInfo {
  const [m, n] = x.shape as [number, number];
  const out = host.alloc([n + (onesRow ? 1 : 0), m]);
  const [a, o] = [host.view(x), host.view(out)];
  for (let j = 0, w = 0; j < n; j++) for (let i = 0, k = j; i < m; i++, k += n, w++) o[w] = a[k]!;
  if (onesRow) o.fill(1, n * m);
  return out;
}

/** The first `rows` rows of a matrix and the rest, as new buffers. */
export function hostSplitRows(host: HostBuffers, x: tf.TensorInfo, rows: number): [tf.TensorInfo, tf.TensorInfo] {
  const [m, n] = x.shape as [number, number];
  const [top, rest] = [host.alloc([rows, n]), host.alloc(m - rows === 1 ? [n] : [m - rows, n])];
  const v = host.view(x);
  host.view(top).set(v.subarray(0, rows * n));
  host.view(rest).set(v.subarray(rows * n));
  return [top, rest];
}
