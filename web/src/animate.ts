/**
 * The flow animation: points move through the model's frames from data to noise and back,
 * linearly interpolated between frames, coloured by where they started.
 */
import { clear, toPixel } from './draw.js';

/** Loops the frames on a canvas with requestAnimationFrame. */
export class FlowAnimation {
  private frames: Float32Array[] = [];
  private colors: string[] = [];
  private start = performance.now();
  private handle = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    /** Seconds for one way (data → noise). */
    private readonly seconds = 3,
  ) {}

  /** New frames (each row-major [n, 2], the first being the data). */
  setFrames(frames: Float32Array[]): void {
    this.frames = frames;
    const x = frames[0]!;
    this.colors = Array.from({ length: x.length / 2 }, (_, i) => `hsl(${((Math.atan2(x[2 * i + 1]!, x[2 * i]!) / Math.PI) * 180 + 360) % 360} 85% 60%)`);
    if (!this.handle) this.handle = requestAnimationFrame(this.draw);
  }

  stop(): void {
    cancelAnimationFrame(this.handle);
    this.handle = 0;
  }

  private readonly draw = (now: number): void => {
    this.handle = requestAnimationFrame(this.draw);
    const f = this.frames;
    if (f.length < 2) return;
    const period = 2 * this.seconds * 1000;
    const phase = ((now - this.start) % period) / (period / 2); // 0 → 2
    const s = (phase <= 1 ? phase : 2 - phase) * (f.length - 1);
    const k = Math.min(f.length - 2, Math.floor(s));
    const w = s - k;
    const a = f[k]!, b = f[k + 1]!;
    const ctx = clear(this.canvas);
    for (let i = 0; i < a.length / 2; i++) {
      const [px, py] = toPixel(this.canvas, a[2 * i]! + w * (b[2 * i]! - a[2 * i]!), a[2 * i + 1]! + w * (b[2 * i + 1]! - a[2 * i + 1]!));
      ctx.fillStyle = this.colors[i]!;
      ctx.fillRect(px - 1.5, py - 1.5, 3, 3);
    }
    ctx.fillStyle = '#93a1b0';
    ctx.font = '12px system-ui, sans-serif';
    ctx.fillText(phase <= 1 ? 'data → noise' : 'noise → data', 8, 16);
  };
}
