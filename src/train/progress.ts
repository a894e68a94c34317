/**
 * The trainer's progress output: a bar on a terminal, plain lines otherwise.
 *
 * The bar is redrawn by time (at most every {@link REDRAW_MS} ms, and once at the end), not by
 * iteration count, so a fast model does not flood the terminal and a slow one is not silent for
 * 50 iterations; its ETA is the median of the recent seconds per iteration (robust to the odd slow
 * iteration: an adaptive solve that took more steps, a checkpoint) times the iterations left.
 * Lines are written once per logged record (`logEvery`). Whether a terminal is there is asked of
 * the stream actually written to, so `2>log` on a terminal gets lines, not `\r` redraws.
 * No runtime import: it runs in browsers, where the default is no output.
 */

/** One line of the training log. */
export interface LogRecord {
  iter: number;
  loss: number;
  secondsPerIter: number;
  [key: string]: number;
}

/** How progress is shown: 'auto' is a bar on a terminal, lines elsewhere. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

/** A stream progress may be written to (Node's process.stderr is one). */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** The bar is redrawn at most this often. */
export const REDRAW_MS = 100;
/** Iterations the ETA's median looks back over. */
const WINDOW = 25;
const BAR_WIDTH = 24;

/** Node's standard error (progress, not results: standard output stays for those); none in browsers. */
function standardError(): ProgressStream | null {
  const stderr = (globalThis as { process?: { stderr?: ProgressStream } }).process?.stderr;
  return stderr && typeof stderr.write === 'function' ? stderr : null;
}

/** `m:ss`, or `h:mm:ss` past an hour. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(r).padStart(2, '0')}`;
}

/** The median of a list of numbers (the progress ETA's, and the benchmarks'). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
};

/** The progress display of one run of `total` iterations. */
export class Progress {
  private readonly recent: number[] = [];
  private lastDraw = -Infinity;
  private readonly start: number;

  constructor(
    readonly mode: 'bar' | 'lines' | 'none',
    private readonly write: (s: string) => void,
    private readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.start = now();
  }

  /**
   * The display `progress`/`write` ask for: a given `write` is not known to be a terminal, so
   * 'auto' writes lines to it; without one, standard error, as a bar if it is a terminal.
   */
  static of(progress: ProgressMode = 'auto', write: ((s: string) => void) | undefined, total: number, now?: () => number): Progress {
    const stream = write ? null : standardError();
    const sink = write ?? (stream ? (s: string) => void stream.write(s) : null);
    if (!sink || progress === 'none') return new Progress('none', () => {}, total, now);
    const mode = progress === 'auto' ? (stream?.isTTY ? 'bar' : 'lines') : progress;
    return new Progress(mode, sink, total, now);
  }

  /** A message on a line of its own (e.g. why nothing was trained). */
  say(line: string): void {
    if (this.mode !== 'none') this.write(`${line}\n`);
  }

  /** After iteration `iter`, which took `seconds`: redraws the bar if it is due. */
  iteration(iter: number, loss: number, seconds: number): void {
    this.recent.push(seconds);
    if (this.recent.length > WINDOW) this.recent.shift();
    // The last iteration's state is drawn by finish, with the newline.
    if (this.mode !== 'bar' || iter >= this.total) return;
    const t = this.now();
    if (t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    this.write(`\r${this.bar(iter, loss)}`);
  }

  /** A logged record: one line in 'lines' mode. */
  record(rec: LogRecord): void {
    if (this.mode !== 'lines') return;
    const extra = Object.entries(rec).filter(([k]) => !['iter', 'loss', 'secondsPerIter'].includes(k)).map(([k, v]) => ` ${k} ${v}`).join('');
    const eta = rec.iter < this.total ? ` ETA ${clock(this.eta(rec.iter))}` : '';
    this.write(`iter ${rec.iter}/${this.total} loss ${rec.loss.toFixed(4)} ${rec.secondsPerIter.toFixed(4)} s/it${eta}${extra}\n`);
  }

  /** The end of the run (finished, aborted or stopped early at `iter`): the bar's last state and a newline. */
  finish(iter: number, loss: number | undefined): void {
    if (this.mode !== 'bar' || loss === undefined) return;
    this.write(`\r${this.bar(iter, loss, true)}\n`);
  }

  /** Seconds left after `iter`: the median recent seconds per iteration times the iterations left. */
  eta(iter: number): number {
    return this.recent.length ? median(this.recent) * (this.total - iter) : NaN;
  }

  /** `[=====>    ] 120/1000 loss 2.8413 0.031 s/it ETA 0:27` (at the end: the time taken). */
  private bar(iter: number, loss: number, end = false): string {
    const done = Math.round((BAR_WIDTH * iter) / this.total);
    const fill = `${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(BAR_WIDTH - done)}`;
    const rate = this.recent.length ? ` ${median(this.recent).toFixed(3)} s/it` : '';
    const time = end || iter >= this.total ? ` in ${clock((this.now() - this.start) / 1000)}` : ` ETA ${clock(this.eta(iter))}`;
    return `[${fill}] ${iter}/${this.total} loss ${loss.toFixed(4)}${rate}${time}`;
  }
}
