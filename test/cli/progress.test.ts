import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-cli-progress-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const tty = { out: process.stdout.isTTY, err: process.stderr.isTTY };
afterEach(() => {
  process.stdout.isTTY = tty.out;
  process.stderr.isTTY = tty.err;
  vi.restoreAllMocks();
});
let n = 0;

/** `biflow train` with standard output and standard error as terminals or not; what went to standard error. */
async function trainWith(stdoutTty: boolean, stderrTty: boolean, more: string[]): Promise<string> {
  process.stdout.isTTY = stdoutTty;
  process.stderr.isTTY = stderrTty;
  const written: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (written.push(String(s)), true));
  const code = await main(['train', '--data', 'moons', '--model', 'nice', '--hidden', '4', '--layers', '2', '--batch', '8', '--backend', 'wasm', '--out', path.join(root, `run-${n++}`), ...more], () => {});
  expect(code).toBe(0);
  return written.join('');
}

describe('biflow train progress', () => {
  it('--log-every N prints a line every N iterations when standard error is not a terminal, even if standard output is (2>log)', async () => {
    const err = await trainWith(true, false, ['--iters', '6', '--log-every', '2']);
    expect(err).not.toContain('\r');
    expect(err.match(/^iter \d+\/6 loss -?\d+\.\d{4} \d+\.\d{4} s\/it.*$/gm)?.map((l) => l.split(' ')[1])).toEqual(['2/6', '4/6', '6/6']);
    expect(err).toMatch(/^iter 2\/6 .* ETA \d+:\d\d$/m);
  });

  it('draws a bar with an ETA on standard error when it is a terminal, ending in the time taken and a newline', async () => {
    const err = await trainWith(false, true, ['--iters', '6']);
    // The one line naming the backend comes first; then the bar, redrawn in place.
    expect(err).toMatch(/^biflow: backend wasm\n\r\[/);
    expect(err).toMatch(/\r\[=+>\] 6\/6 loss -?\d+\.\d{4} \d+\.\d{3} s\/it in \d+:\d\d\n$/);
    expect(err).toMatch(/\] 1\/6 .* ETA \d+:\d\d/);
  });
});
