/** Where training points come from: one of FFJORD's toy densities, or points drawn with the mouse. */
import { TOY_DATASETS, toyData } from 'biflow';

/** The data choices of the page: the eight toy sets and 'draw'. */
export const DATA_CHOICES: readonly string[] = [...TOY_DATASETS, 'draw'];

/** A source of training batches and held-out points. */
export class DataSource {
  /** Drawn points, row-major [n, 2]. */
  readonly drawn: number[] = [];

  constructor(public name: string) {}

  get isDrawn(): boolean {
    return this.name === 'draw';
  }

  /** Enough points to train on. */
  get ready(): boolean {
    return !this.isDrawn || this.drawn.length >= 2 * 20;
  }

  /** Adds a small spray of points around (x, y). */
  spray(x: number, y: number, count = 4, radius = 0.08): void {
    for (let k = 0; k < count; k++) this.drawn.push(x + radius * gauss(), y + radius * gauss());
  }

  /** Training batch i of n rows: fresh toy samples, or drawn points with a little jitter. */
  batch(i: number, n: number): Float32Array {
    if (!this.isDrawn) return toyData(this.name, n, 1 + i);
    const out = new Float32Array(2 * n);
    const m = this.drawn.length / 2;
    for (let k = 0; k < n; k++) {
      const r = Math.floor(Math.random() * m);
      out[2 * k] = this.drawn[2 * r]! + 0.05 * gauss();
      out[2 * k + 1] = this.drawn[2 * r + 1]! + 0.05 * gauss();
    }
    return out;
  }

  /** Held-out rows for the test NLL (a fixed seed for toy sets). */
  test(n: number): Float32Array {
    return this.isDrawn ? this.batch(-1, n) : toyData(this.name, n, 999_983);
  }

  /** Points to show on the data panel. */
  preview(n: number): Float32Array {
    return this.isDrawn ? Float32Array.from(this.drawn) : toyData(this.name, n, 12345);
  }
}

function gauss(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}
