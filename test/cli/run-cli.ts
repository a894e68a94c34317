/** Running the CLI in-process from tests. */
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/** Runs the CLI in-process and returns its exit status and printed lines (stderr is silenced). */
export async function run(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const code = await main(args, (s) => lines.push(s));
  return { code, lines };
}

/** The JSON object a `--json` command prints as its last line. */
export const lastJson = (lines: string[]) => JSON.parse(lines.at(-1)!) as Record<string, unknown>;
