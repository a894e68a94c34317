/** Canvas drawing for the playground: points, the density heat map, in data coordinates. */

/** The square of the plane every panel shows: [xmin, xmax, ymin, ymax]. */
export type Extent = readonly [number, number, number, number];
export const EXTENT: Extent = [-4, 4, -4, 4];

/** Pixel position of a data point (y up). */
export function toPixel(canvas: HTMLCanvasElement, x: number, y: number, [x0, x1, y0, y1]: Extent = EXTENT): [number, number] {
  return [((x - x0) / (x1 - x0)) * canvas.width, ((y1 - y) / (y1 - y0)) * canvas.height];
}

/** Data position of a pixel (y up). */
export function toData(canvas: HTMLCanvasElement, px: number, py: number, [x0, x1, y0, y1]: Extent = EXTENT): [number, number] {
  return [x0 + (px / canvas.width) * (x1 - x0), y1 - (py / canvas.height) * (y1 - y0)];
}

/** Clears a panel to black. */
export function clear(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return ctx;
}

/** Dots at the rows of a row-major [n, 2] array. */
export function drawPoints(canvas: HTMLCanvasElement, xy: ArrayLike<number>, color: string, size = 1.6): void {
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = color;
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const [px, py] = toPixel(canvas, xy[i]!, xy[i + 1]!);
    ctx.fillRect(px - size / 2, py - size / 2, size, size);
  }
}

/** A perceptual dark-to-bright ramp (close to matplotlib's magma) at t in [0, 1]. */
function ramp(t: number): [number, number, number] {
  const stops: [number, number, number][] = [[0, 0, 4], [59, 15, 112], [140, 41, 129], [222, 73, 104], [254, 159, 109], [252, 253, 191]];
  const s = Math.min(stops.length - 1.0001, Math.max(0, t) * (stops.length - 1));
  const i = Math.floor(s), f = s - i;
  const a = stops[i]!, b = stops[i + 1]!;
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/**
 * The density on an n×n grid (entry j·n + i: column i along x, row j along y, as
 * `Flow.densityGrid` lays it out), scaled to its maximum, drawn over the whole panel.
 */
export function drawDensity(canvas: HTMLCanvasElement, density: ArrayLike<number>, n: number): void {
  let max = 0;
  for (let k = 0; k < n * n; k++) if (Number.isFinite(density[k]!)) max = Math.max(max, density[k]!);
  const img = new ImageData(n, n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const v = density[j * n + i]!;
      const [r, g, b] = ramp(max > 0 && Number.isFinite(v) ? v / max : 0);
      const o = 4 * ((n - 1 - j) * n + i); // row j counts up from ymin; image rows count down
      img.data[o] = r;
      img.data[o + 1] = g;
      img.data[o + 2] = b;
      img.data[o + 3] = 255;
    }
  }
  const small = document.createElement('canvas');
  small.width = small.height = n;
  small.getContext('2d')!.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}
