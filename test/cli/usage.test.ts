/**
 * The CLI's one exit-code rule — a wrong command line exits 2 before anything runs, a command that
 * cannot do its work exits 1 — and the argument checks of `sample` and `plot`: --n, --out's
 * extension, --grid, --extent.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { lastJson } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());

/** Runs the CLI in-process; returns its exit status, stdout lines and what it wrote to stderr. */
async function cli(args: string[]): Promise<{ code: number; lines: string[]; stderr: string }> {
  const lines: string[] = [];
  const errors: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (errors.push(String(s)), true));
  const code = await main(args, (s) => lines.push(s));
  vi.restoreAllMocks();
  return { code, lines, stderr: errors.join('') };
}

const root = mkdtempSync(path.join(os.tmpdir(), 'biflow-usage-'));
const model = path.join(root, 'run');
// A model folder that does not exist: a usage error must be found before the model is read.
const missing = path.join(root, 'no-such-model');

beforeAll(async () => {
  const t = await cli(['train', '--data', '8gaussians', '--model', 'nice', '--iters', '2', '--batch', '16', '--hidden', '4', '--layers', '2', '--out', model, '--backend', 'cpu', '--json']);
  expect(t.code).toBe(0);
}, 60_000);

describe('usage errors exit 2 and name the flag, before any work', () => {
  const cases: [string, string[], RegExp][] = [
    ['sample --n 0', ['sample', '--model', missing, '--n', '0', '--out', path.join(root, 's.csv')], /^biflow: --n must be an integer ≥ 1, got "0"\.$/],
    ['bench fm-step --pairs 0', ['bench', 'fm-step', '--pairs', '0', '--no-torch'], /^biflow bench fm-step: --pairs must be ≥ 1, got 0\.$/],
    ['sample --n -3', ['sample', '--model', missing, '--n', '-3', '--out', path.join(root, 's.csv')], /--n must be an integer ≥ 1, got "-3"/],
    ['sample --n 2.5', ['sample', '--model', missing, '--n', '2.5', '--out', path.join(root, 's.csv')], /--n must be an integer ≥ 1, got "2\.5"/],
    ['sample --out s.txt', ['sample', '--model', missing, '--out', path.join(root, 's.txt')], /^biflow: --out must end in \.csv, \.png, \.svg \(the extension picks the format\), got ".*s\.txt"\.$/],
    ['plot --out d.jpg', ['plot', '--model', missing, '--out', path.join(root, 'd.jpg')], /^biflow: --out must end in \.png, \.svg \(the extension picks the format\), got ".*d\.jpg"\.$/],
    ['plot --out d (no extension)', ['plot', '--model', missing, '--out', path.join(root, 'd')], /--out must end in \.png, \.svg/],
    ['plot --grid 0', ['plot', '--model', missing, '--out', path.join(root, 'g.png'), '--grid', '0'], /^biflow: --grid must be an integer from 2 to 1000, got "0"\.$/],
    ['plot --grid 1', ['plot', '--model', missing, '--out', path.join(root, 'g.png'), '--grid', '1'], /--grid must be an integer from 2 to 1000, got "1"/],
    ['plot --grid 100000', ['plot', '--model', missing, '--out', path.join(root, 'g.png'), '--grid', '100000'], /--grid must be an integer from 2 to 1000, got "100000"/],
    ['plot --extent 1,2', ['plot', '--model', missing, '--out', path.join(root, 'e.png'), '--extent', '1,2'], /^biflow: --extent must be four comma-separated numbers, got "1,2" \(2\)\. Give four numbers xmin,xmax,ymin,ymax/],
    ['plot --extent with five numbers', ['plot', '--model', missing, '--out', path.join(root, 'e.png'), '--extent', '0,1,0,1,2'], /--extent must be four comma-separated numbers, got "0,1,0,1,2" \(5\)/],
    ['plot --extent xmin > xmax', ['plot', '--model', missing, '--out', path.join(root, 'e.png'), '--extent', '1,-1,0,1'], /--extent must have xmin < xmax and ymin < ymax, got "1,-1,0,1"/],
    ['plot --extent ymin = ymax', ['plot', '--model', missing, '--out', path.join(root, 'e.png'), '--extent', '-1,1,2,2'], /--extent must have xmin < xmax and ymin < ymax/],
    ['sample --extent with a NaN', ['sample', '--model', missing, '--out', path.join(root, 'e.svg'), '--extent', '0,1,0,nan'], /--extent must be a finite number, got "nan"/],
    ['compare --grid 0', ['compare', '--data', '8gaussians', '--grid', '0', '--out', path.join(root, 'cmp')], /--grid must be an integer from 2 to 1000, got "0"/],
    ['train --iters x', ['train', '--data', '8gaussians', '--iters', 'x', '--out', path.join(root, 'never')], /^biflow: --iters must be an integer, got "x"\.$/],
    ['train --resume --overwrite', ['train', '--data', '8gaussians', '--resume', '--overwrite', '--out', path.join(root, 'never')], /^biflow train: --overwrite cannot go with --resume/],
    ['tolerance --reference-tol abc', ['tolerance', '--model', missing, '--data', '8gaussians', '--reference-tol', 'abc'], /--reference-tol must be a finite number, got "abc"/],
    ["commander's unknown option", ['eval', '--model', missing, '--data', '8gaussians', '--bogus'], /unknown option '--bogus'/],
    ["commander's missing required option", ['plot', '--model', missing], /required option '--out <file>' not specified/],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(message);
    // Nothing leaks from inside the library, and nothing ran: no backend line, no output file.
    expect(r.stderr).not.toMatch(/StandardNormal|Flow\.sample|backend/);
    expect(r.lines).toEqual([]);
    const out = args[args.indexOf('--out') + 1];
    if (args.includes('--out')) expect(existsSync(out!)).toBe(false);
  });
});

describe('the same commands with valid arguments', () => {
  it('sample --n 1 writes one row; --extent and --grid at their bounds draw figures of the right kind', async () => {
    const csv = path.join(root, 'one.csv');
    expect((await cli(['sample', '--model', model, '--n', '1', '--out', csv, '--backend', 'cpu'])).code).toBe(0);
    expect(readFileSync(csv, 'utf8').trim().split('\n')).toHaveLength(1);
    const svg = path.join(root, 'grid2.SVG');
    const p = await cli(['plot', '--model', model, '--grid', '2', '--extent', '-1.5,1.5,-2,2', '--out', svg, '--backend', 'cpu', '--json']);
    expect(p.code).toBe(0);
    expect(lastJson(p.lines).out).toBe(svg);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg|<\?xml/);
    const png = path.join(root, 'scatter.png');
    expect((await cli(['sample', '--model', model, '--n', '20', '--extent', '-4,4,-4,4', '--out', png, '--backend', 'cpu'])).code).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  }, 60_000);

  it('a command that cannot do its work exits 1: a missing model folder', async () => {
    const r = await cli(['sample', '--model', missing, '--n', '5', '--out', path.join(root, 'x.csv'), '--backend', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/holds no model/);
  });

  it('biflow --help states the rule', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    expect(await main(['--help'], () => {})).toBe(0);
    vi.restoreAllMocks();
    expect(out.join('')).toMatch(/Exit status: 0 done; 1 the command failed \(data, files, model, backend\); 2 the command line\s+is wrong/);
  });
});
