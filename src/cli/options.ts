/**
 * Options and output helpers shared by the CLI's commands, and the one exit-code rule: a command
 * line that is wrong (unknown option, a malformed or out-of-range value, flags that cannot go
 * together) is a usage error, exit 2, found before anything runs — commander's own and ours
 * ({@link UsageError}) alike; a command that cannot do its work (data, files, models, backends)
 * exits 1.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { backendInfo, BACKEND_NAMES, useBackend } from '../backend/backends.js';
import type { BackendInfo, BackendName } from '../backend/backends.js';
import { BiflowError, InvalidArgumentError } from '../errors.js';
import { toPng } from '../plot/png.js';

export interface Common {
  seed: number;
  backend: BackendName;
  json?: boolean;
  verbose?: boolean;
}

/** The exit status of a command line that is wrong (commander's and {@link UsageError}). */
export const USAGE_EXIT = 2;

/** The command line is wrong: a flag's value is malformed or out of range, or flags conflict. Exit 2. */
export class UsageError extends InvalidArgumentError {
  constructor(command: string, flag: string, value: unknown, expectation: string) {
    super(command, flag, value, expectation);
  }
}

/** An integer flag, optionally bounded: `int('grid', { min: 2, max: 1000 })`. */
export const int = (name: string, range: { min?: number; max?: number } = {}) => (v: string): number => {
  const n = Number(v);
  const { min = -Infinity, max = Infinity } = range;
  const bounds = min > -Infinity && max < Infinity ? ` from ${min} to ${max}` : min > -Infinity ? ` ≥ ${min}` : max < Infinity ? ` ≤ ${max}` : '';
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new UsageError('biflow', `--${name}`, v, `must be an integer${bounds}, got {value}.`);
  return n;
};
/** Throws a UsageError naming `command` for the first `[flag, value]` below `min` (NaN included). */
export function atLeast(command: string, min: number, flags: readonly (readonly [string, number])[]): void {
  for (const [flag, v] of flags) {
    if (!(v >= min)) throw new UsageError(command, `--${flag}`, v, `must be ≥ ${min}, got {value}.`);
  }
}
export const num = (name: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError('biflow', `--${name}`, v, 'must be a finite number, got {value}.');
  return n;
};
export const list = (name: string) => (v: string): number[] => v.split(',').map((s) => num(name)(s.trim()));

/** `--extent xmin,xmax,ymin,ymax`: four finite numbers with xmin < xmax and ymin < ymax. */
export const extent = (name: string) => (v: string): [number, number, number, number] => {
  const parts = v.split(',');
  const fix = 'Give four numbers xmin,xmax,ymin,ymax with xmin < xmax and ymin < ymax, e.g. -4,4,-4,4.';
  if (parts.length !== 4) throw new UsageError('biflow', `--${name}`, v, `must be four comma-separated numbers, got {value} (${parts.length}). ${fix}`);
  const [x0, x1, y0, y1] = parts.map((s) => num(name)(s.trim())) as [number, number, number, number];
  if (!(x0 < x1 && y0 < y1)) throw new UsageError('biflow', `--${name}`, v, `must have xmin < xmax and ymin < ymax, got {value}. ${fix}`);
  return [x0, x1, y0, y1];
};

/** Density grids: at least 2 cells per side to draw anything, at most 1000 (a million density evaluations). */
export const GRID = { min: 2, max: 1000 } as const;

/** An output file whose extension says its format: one of `exts` (lower case, with the dot). */
export const outFile = (name: string, exts: readonly string[]) => (v: string): string => {
  if (!exts.includes(path.extname(v).toLowerCase())) throw new UsageError('biflow', `--${name}`, v, `must end in ${exts.join(', ')} (the extension picks the format), got {value}.`);
  return v;
};

export function common(cmd: Command): Command {
  return cmd
    .addOption(new Option('--seed <n>', 'random seed').default(0).argParser(int('seed')))
    .addOption(new Option('--backend <name>', 'tensor backend').choices([...BACKEND_NAMES]).default('auto'))
    .option('--json', 'print one JSON object as the last line')
    .option('--verbose', 'say why --backend auto passed over the backends before the one it chose');
}

/** The line the CLI prints on stderr: which backend runs, and (verbose) why 'auto' skipped others. */
export function backendLine(info: BackendInfo, verbose = false): string {
  const adapter = info.adapter ? ` (${info.adapter.description || info.adapter.device || info.adapter.vendor})` : '';
  const skipped = info.skipped;
  if (!skipped.length) return `biflow: backend ${info.name}${adapter}`;
  if (!verbose) return `biflow: backend ${info.name}${adapter}; auto passed over ${skipped.map((s) => s.name).join(', ')} (--verbose says why)`;
  return `biflow: backend ${info.name}${adapter}; auto passed over ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`;
}

/** Activates --backend; outside --json (whose object names it) says on stderr which one runs. */
export async function startBackend(opts: Common): Promise<BackendInfo> {
  const info = await useBackend(opts.backend);
  if (!opts.json) process.stderr.write(`${backendLine(info, opts.verbose)}\n`);
  return info;
}

/** Writes a figure as SVG text (.svg) or PNG (.png); the flag's {@link outFile} check admits no other. */
export async function writeFigure(file: string, svg: string): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new BiflowError(`biflow: a figure is written as .png or .svg, not "${ext || file}".`);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, ext === '.svg' ? svg : await toPng(svg));
}

export function finish(opts: Common, human: string[], result: Record<string, unknown>, out: (s: string) => void): void {
  const info = backendInfo();
  if (!opts.json) human.forEach((l) => out(l));
  else out(JSON.stringify({ ...result, backend: info.name, adapter: info.adapter?.description ?? null }));
}

/** A comma-separated list of names, each one of `allowed`. */
export const names = <T extends string>(flag: string, allowed: readonly T[]) => (v: string): T[] => {
  const out = v.split(',').map((s) => s.trim());
  const bad = out.find((s) => !(allowed as readonly string[]).includes(s));
  if (bad !== undefined) throw new UsageError('biflow', `--${flag}`, bad, `must name one of ${allowed.join(', ')}, got {value}.`);
  return out as T[];
};
