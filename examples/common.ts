/** Small helpers shared by the examples: flags, output folder, PNG writing, a final JSON line. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { toPng } from '../src/plot/index.js';

/** `--name` present on the command line. */
export function flag(name: string, argv = process.argv.slice(2)): boolean {
  return argv.includes(`--${name}`);
}

/** The value after `--name` (or `--name=value`), else `fallback`. */
export function option(name: string, fallback: string, argv = process.argv.slice(2)): string {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1]!;
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : fallback;
}

/** Renders SVG text to `dir/file` as PNG and returns the path written. */
export async function writePng(dir: string, file: string, svg: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const out = path.join(dir, file);
  await writeFile(out, await toPng(svg));
  return out;
}

/** Whether this module is the script node/tsx was started with. */
export function isMain(url: string): boolean {
  return url === `file://${path.resolve(process.argv[1] ?? '')}`;
}

/** Line charts of named series (training curves) with axes and a legend; one definition, in src/plot. */
export { lineChart } from '../src/plot/index.js';
