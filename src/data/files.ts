/**
 * Datasets from files: CSV (numbers, optional header line) and NumPy `.npy` (float32/float64,
 * C order, 2-D). Bad files fail with a typed error that names the file and the row.
 */
import { readFileSync } from 'node:fs';
import { BiflowError } from '../errors.js';

export class DataFileError extends BiflowError {
  constructor(
    readonly file: string,
    problem: string,
    fix: string,
  ) {
    super(`loadDataFile: ${file}: ${problem}. ${fix}`);
  }
}

export interface Table {
  data: Float32Array;
  rows: number;
  dim: number;
}

function parseCsv(file: string, text: string): Table {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new DataFileError(file, 'is empty', 'Give one sample per line, comma-separated.');
  const cells = (l: string) => l.split(',').map((c) => c.trim());
  const first = cells(lines[0]!);
  const header = first.some((c) => c !== '' && Number.isNaN(Number(c)));
  const body = header ? lines.slice(1) : lines;
  const dim = header ? first.length : cells(body[0] ?? '').length;
  const data = new Float32Array(body.length * dim);
  body.forEach((line, r) => {
    const row = cells(line);
    const lineNo = r + 1 + (header ? 1 : 0);
    if (row.length !== dim) throw new DataFileError(file, `line ${lineNo} has ${row.length} values where the first row has ${dim}`, 'Make every row the same length.');
    row.forEach((c, j) => {
      const v = Number(c);
      if (c === '' || !Number.isFinite(v)) throw new DataFileError(file, `line ${lineNo}, column ${j + 1} is ${JSON.stringify(c)}, not a finite number`, 'Remove or fix rows with NaN, Inf or empty cells.');
      data[r * dim + j] = v;
    });
  });
  return { data, rows: body.length, dim };
}

function parseNpy(file: string, bytes: Buffer): Table {
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new DataFileError(file, 'is not a .npy file (bad magic)', 'Save it with numpy.save.');
  const major = bytes[6]!;
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1]?.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!descr || !fortran || !shape) throw new DataFileError(file, 'has an unreadable header', 'Save it with numpy.save.');
  if (fortran === 'True') throw new DataFileError(file, 'is stored in Fortran order', 'Save a C-ordered copy: numpy.save(path, numpy.ascontiguousarray(x)).');
  if (shape.length !== 2) throw new DataFileError(file, `has shape (${shape.join(', ')}), not (rows, dim)`, 'Reshape it to two dimensions.');
  const [rows, dim] = shape as [number, number];
  const offset = start + headerLen;
  const size = rows * dim;
  let values: Float32Array;
  if (descr === '<f4') values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * size));
  else if (descr === '<f8') values = Float32Array.from(new Float64Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 8 * size)));
  else throw new DataFileError(file, `has dtype ${descr}`, "Convert it to float32 or float64: x.astype('float32').");
  if (values.length !== size) throw new DataFileError(file, `holds ${values.length} values where its shape says ${size}`, 'The file is truncated; save it again.');
  for (let i = 0; i < size; i++) {
    if (!Number.isFinite(values[i]!)) throw new DataFileError(file, `row ${Math.floor(i / dim)} holds a non-finite value`, 'Remove rows with NaN or Inf.');
  }
  return { data: values, rows, dim };
}

/** Reads a .csv or .npy file into a row-major table. */
export function loadDataFile(file: string): Table {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new DataFileError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'Check the path.');
  }
  if (file.endsWith('.npy')) return parseNpy(file, bytes);
  if (file.endsWith('.csv') || file.endsWith('.txt')) return parseCsv(file, bytes.toString('utf8'));
  throw new DataFileError(file, 'has an unknown extension', 'Use a .csv or .npy file, or a toy dataset name.');
}
