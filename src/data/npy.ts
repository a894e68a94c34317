/**
 * NumPy `.npy` (format 1.0–3.0) and `.npz` (a zip of `.npy` members, unzipped by fflate) → Tables.
 * Pure: bytes in, tables out, so browsers can use it too.
 *
 * A hand-written header parser rather than npyjs: npyjs ignores `fortran_order` (it would return a
 * Fortran-ordered array transposed without a word) and reports no file or row on bad values. Here
 * float32/float64 of either byte order are read, Fortran order is transposed to row-major, and a
 * non-finite value is reported with its row.
 *
 * Reference: NumPy Enhancement Proposal 1, "A simple file format for NumPy arrays".
 */
import { unzipSync } from 'fflate';
import { DataFileError, FLOAT32_MAX } from './data-error.js';
import type { Table } from './data-error.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/**
 * Parses one `.npy` file holding a 2-D float array; `file` names it in errors.
 *
 * @example
 * ```ts
 * import { encodeNpy, parseNpy } from 'biflow';
 *
 * const bytes = encodeNpy({ data: Float32Array.of(1, 2, 3, 4, 5, 6), rows: 3, dim: 2 });
 * parseNpy('rows.npy', bytes).rows;   // 3
 * ```
 */
export function parseNpy(file: string, bytes: Uint8Array, fn = 'loadDataFile'): Table {
  const bad = (problem: string, fix: string) => new DataFileError(file, problem, fix, fn);
  if (bytes.length < 12 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('is not a .npy file (bad magic)', 'Save it with numpy.save.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [major, minor] = [bytes[6]!, bytes[7]!];
  if (major < 1 || major > 3) throw bad(`is .npy format version ${major}.${minor}, not 1.0–3.0`, 'Save it with numpy.save.');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const offset = start + headerLen;
  if (offset > bytes.length) throw bad(`is truncated: its header length says ${headerLen} bytes but only ${bytes.length - start} follow`, 'Save it again with numpy.save.');
  const header = latin1(bytes, start, offset);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad('has an unreadable header', 'Save it with numpy.save.');
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean);
  // Sizes are non-negative decimal integers (Python 2 wrote longs as `3L`); anything else is crafted.
  if (shape.some((s) => !/^\d+L?$/.test(s) || !Number.isSafeInteger(Number.parseInt(s, 10)))) {
    throw bad(`has shape (${shapeText}), not a tuple of non-negative integers`, 'Save it again with numpy.save.');
  }
  const sizes = shape.map((s) => Number.parseInt(s, 10));
  if (sizes.length !== 2) throw bad(`has shape (${sizes.join(', ')}), not (rows, dim)`, 'Reshape it to two dimensions: x.reshape(len(x), -1).');
  const [rows, dim] = sizes as [number, number];
  if (dim < 1) throw bad(`has shape (${rows}, 0): its rows have no columns`, 'Save an array with at least one column.');
  const kind = /^([<>|=])f([48])$/.exec(descr);
  if (!kind) throw bad(`has dtype ${descr}`, "Convert it to float32 or float64: x.astype('float32').");
  const little = kind[1] !== '>';
  const width = Number(kind[2]);
  const size = rows * dim;
  // In BigInt: rows · dim · width of a crafted header can pass 2^53, where doubles would round.
  const need = BigInt(rows) * BigInt(dim) * BigInt(width);
  if (need !== BigInt(bytes.length - offset)) {
    throw bad(`holds ${bytes.length - offset} bytes of data where its shape (${rows}, ${dim}) of ${descr} needs ${need}`, need > BigInt(bytes.length - offset) ? 'The file is truncated or its header was edited; save it again with numpy.save.' : 'Its header does not describe its data; save it again with numpy.save.');
  }
  const data = new Float32Array(size);
  const fortranOrder = fortran === 'True';
  for (let k = 0; k < size; k++) {
    const v = width === 4 ? view.getFloat32(offset + 4 * k, little) : view.getFloat64(offset + 8 * k, little);
    // Element k of a Fortran-ordered array is (row k mod rows, column ⌊k / rows⌋).
    const r = fortranOrder ? k % rows : Math.floor(k / dim);
    const c = fortranOrder ? Math.floor(k / rows) : k % dim;
    if (!Number.isFinite(v)) throw bad(`row ${r + 1}, column ${c + 1} (counting from 1) is ${v}`, 'Remove rows with NaN or Inf before saving: x[numpy.isfinite(x).all(axis=1)].');
    if (!(Math.abs(v) <= FLOAT32_MAX)) throw bad(`row ${r + 1}, column ${c + 1} (counting from 1) is ${v}, beyond float32's range (±3.4e38)`, 'Rescale that column; rows are stored as float32.');
    data[r * dim + c] = v;
  }
  return { data, rows, dim };
}

/**
 * Parses an `.npz` archive into its 2-D float arrays by name (`train.npy` → `train`).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parseNpz } from 'biflow';
 *
 * // an archive written by np.savez('power.npz', train=…, validation=…, test=…)
 * const { train, validation, test } = parseNpz('power.npz', readFileSync('power.npz'));
 * [train?.rows, validation?.rows, test?.rows];
 * ```
 */
export function parseNpz(file: string, bytes: Uint8Array, fn = 'loadDataFile'): Record<string, Table> {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch (e) {
    throw new DataFileError(file, `is not a readable .npz (zip) archive (${(e as Error).message})`, 'Save it with numpy.savez(path, train=..., validation=..., test=...).', fn);
  }
  const out: Record<string, Table> = {};
  for (const [name, member] of Object.entries(members)) {
    if (!name.endsWith('.npy')) continue;
    out[name.slice(0, -4)] = parseNpy(`${file}[${name}]`, member, fn);
  }
  return out;
}

/**
 * Encodes a row-major float32 `[rows, dim]` table as `.npy` bytes (format 1.0, C order).
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { encodeNpy, toyData } from 'biflow';
 *
 * writeFileSync('moons.npy', encodeNpy({ data: toyData('moons', 500), rows: 500, dim: 2 })); // np.load('moons.npy').shape == (500, 2)
 * ```
 */
export function encodeNpy({ data, rows, dim }: Table): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + 4 * rows * dim);
  out.set(MAGIC, 0);
  out[6] = 1;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const body = new DataView(out.buffer, 10 + header.length);
  for (let k = 0; k < rows * dim; k++) body.setFloat32(4 * k, data[k]!, true);
  return out;
}
