import { describe, expect, it } from 'vitest';
import { clock, Progress, REDRAW_MS } from '../../src/train/progress.js';

/** A Progress on a fake clock, writing into `out`. */
function fake(mode: 'bar' | 'lines', total: number) {
  let now = 0;
  const out: string[] = [];
  const p = new Progress(mode, (s) => out.push(s), total, () => now);
  return { p, out, advance: (ms: number) => (now += ms) };
}

describe('the progress display', () => {
  it('redraws the bar by time: at most every 100 ms however fast the iterations, and once at the end with a newline', () => {
    const { p, out, advance } = fake('bar', 1000);
    for (let i = 1; i <= 1000; i++) {
      advance(1); // 1 ms per iteration: 1000 iterations in one second
      p.iteration(i, 2, 0.001);
    }
    p.finish(1000, 2);
    // 1 s at one redraw per 100 ms: the first iteration, then one per 100 ms, then the end.
    expect(out.length).toBeLessThanOrEqual(1000 / REDRAW_MS + 2);
    expect(out.length).toBeGreaterThanOrEqual(1000 / REDRAW_MS);
    expect(out.every((s) => s.startsWith('\r'))).toBe(true);
    expect(out.at(-1)).toMatch(/^\r\[={23}>\] 1000\/1000 loss 2\.0000 0\.001 s\/it in 0:01\n$/);
    expect(out.slice(0, -1).some((s) => s.includes('\n'))).toBe(false);
  });

  it('a slow run redraws every iteration', () => {
    const { p, out, advance } = fake('bar', 5);
    for (let i = 1; i <= 4; i++) {
      advance(500);
      p.iteration(i, 1, 0.5);
    }
    expect(out).toHaveLength(4);
  });

  it('the ETA is the median recent seconds per iteration times the iterations left (one slow iteration does not move it)', () => {
    const { p, out } = fake('bar', 100);
    const times = [0.2, 0.2, 5, 0.2, 0.2];
    times.forEach((t, i) => p.iteration(i + 1, 1, t));
    expect(p.eta(5)).toBeCloseTo(0.2 * 95, 10);
    expect(out[0]).toMatch(/1\/100 loss 1\.0000 0\.200 s\/it ETA 0:20$/);
  });

  it('lines mode writes one line per logged record, with its ETA and extra stats', () => {
    const { p, out } = fake('lines', 10);
    p.iteration(1, 3, 0.5);
    p.record({ iter: 5, loss: 3, secondsPerIter: 0.5, nfeForward: 26 });
    p.record({ iter: 10, loss: 2, secondsPerIter: 0.5 });
    p.finish(10, 2);
    expect(out).toEqual(['iter 5/10 loss 3.0000 0.5000 s/it ETA 0:03 nfeForward 26\n', 'iter 10/10 loss 2.0000 0.5000 s/it\n']);
  });

  it("'auto' asks the stream it writes to: a given writer gets lines, standard error a bar only when it is a terminal", () => {
    expect(Progress.of('auto', () => {}, 10).mode).toBe('lines');
    const tty = process.stderr.isTTY;
    try {
      process.stderr.isTTY = true;
      expect(Progress.of('auto', undefined, 10).mode).toBe('bar');
      // Standard output a terminal, standard error a file (`2>log`): lines, not \r redraws.
      process.stderr.isTTY = false;
      const stdout = process.stdout.isTTY;
      process.stdout.isTTY = true;
      expect(Progress.of('auto', undefined, 10).mode).toBe('lines');
      process.stdout.isTTY = stdout;
    } finally {
      process.stderr.isTTY = tty;
    }
    expect(Progress.of('none', undefined, 10).mode).toBe('none');
  });

  it('clock formats m:ss and h:mm:ss', () => {
    expect([clock(0), clock(59.4), clock(61), clock(3600 + 62)]).toEqual(['0:00', '0:59', '1:01', '1:01:02']);
  });
});
