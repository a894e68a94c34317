/** A .npy file (version 1.0) written by hand from a header dict, independent of the library's encoder. */
export function npy(header: string, values: ArrayLike<number>, f64 = false): Buffer {
  let h = `${header}`;
  while ((10 + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(h.length, 8);
  const body = Buffer.from((f64 ? Float64Array.from(values) : Float32Array.from(values)).buffer);
  return Buffer.concat([pre, Buffer.from(h, 'latin1'), body]);
}

/** A C-ordered float64 .npy of a row-major [rows, dim] array. */
export function npy2d(values: ArrayLike<number>, rows: number, dim: number): Buffer {
  return npy(`{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`, values, true);
}
