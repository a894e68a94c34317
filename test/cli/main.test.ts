import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { orbitTable } from '../../examples/orbit.js';

afterEach(() => vi.restoreAllMocks());

describe('biflow CLI', () => {
  it('lists the methods as one JSON object on the last line', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(main(['methods', '--json'])).toBe(0);
    const out = JSON.parse(String(log.mock.calls.at(-1)![0])) as { methods: { name: string; order: number }[] };
    expect(out.methods.map((m) => m.name)).toEqual(['euler', 'midpoint', 'heun', 'rk4', 'bosh3', 'dopri5', 'tsit5', 'dopri8']);
    expect(out.methods.find((m) => m.name === 'dopri8')!.order).toBe(8);
  });

  it('rejects an unknown command with exit status 2 and a hint', () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(main(['trian'])).toBe(2);
    expect(String(err.mock.calls[0]![0])).toMatch(/unknown command 'trian'.*biflow --help/);
  });

  it('runs as a script through tsx', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--version'], { encoding: 'utf8' });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('the orbit demo', () => {
  it('closes the Arenstorf orbit more tightly as the tolerance tightens', () => {
    const rows = orbitTable(['dopri5', 'dopri8'], [1e-6, 1e-10]);
    for (const method of ['dopri5', 'dopri8']) {
      const [loose, tight] = rows.filter((r) => r.method === method);
      expect(tight!.error).toBeLessThan(loose!.error / 100);
      expect(tight!.nfe).toBeGreaterThan(loose!.nfe);
    }
  });
});
