/** A minimal PNG reader for tests: 8-bit RGB/RGBA, non-interlaced (what resvg writes). */
import { inflateSync } from 'node:zlib';

export interface Image { width: number; height: number; rgba: Uint8Array }

/** Decodes PNG bytes into RGBA pixels, undoing the five scanline filters. */
export function decodePng(png: Uint8Array): Image {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [depth, type] = [png[24]!, png[25]!];
  if (depth !== 8 || (type !== 6 && type !== 2)) throw new Error(`decodePng: bit depth ${depth}, colour type ${type} not supported`);
  const channels = type === 6 ? 4 : 3;
  const chunks: Uint8Array[] = [];
  for (let at = 8; at < png.length;) {
    const len = view.getUint32(at);
    const kind = String.fromCharCode(...png.subarray(at + 4, at + 8));
    if (kind === 'IDAT') chunks.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(chunks));
  const stride = width * channels;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= channels ? out[y * stride + x - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter]!;
      out[y * stride + x] = (v + pred) & 255;
    }
  }
  if (channels === 4) return { width, height, rgba: out };
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([out[3 * i]!, out[3 * i + 1]!, out[3 * i + 2]!, 255], 4 * i);
  return { width, height, rgba };
}

/** How many pixels in the rectangle [x0, x1) × [y0, y1) are not white. */
export function inkIn(img: Image, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) {
      const i = 4 * (y * img.width + x);
      if (img.rgba[i]! < 200 || img.rgba[i + 1]! < 200 || img.rgba[i + 2]! < 200) n++;
    }
  }
  return n;
}
