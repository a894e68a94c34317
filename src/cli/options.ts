/** Options and output helpers shared by the CLI's commands. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { backendInfo, BACKEND_NAMES } from '../backend/backends.js';
import type { BackendName } from '../backend/backends.js';
import { BiflowError } from '../errors.js';
import { toPng } from '../plot/png.js';

export interface Common {
  seed: number;
  backend: BackendName;
  json?: boolean;
}

export const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new BiflowError(`biflow: --${name} must be an integer, got "${v}".`);
  return n;
};
export const num = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new BiflowError(`biflow: --${name} must be a number, got "${v}".`);
  return n;
};
export const list = (name: string) => (v: string): number[] => v.split(',').map((s) => num(name)(s.trim()));

export function common(cmd: Command): Command {
  return cmd
    .addOption(new Option('--seed <n>', 'random seed').default(0).argParser(int('seed')))
    .addOption(new Option('--backend <name>', 'tensor backend').choices([...BACKEND_NAMES]).default('auto'))
    .option('--json', 'print one JSON object as the last line');
}

/** Writes a figure as SVG text or, for any other extension, as PNG. */
export async function writeFigure(file: string, svg: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, file.endsWith('.svg') ? svg : await toPng(svg));
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
  if (bad !== undefined) throw new BiflowError(`biflow: --${flag}: "${bad}" is not one of ${allowed.join(', ')}.`);
  return out as T[];
};
