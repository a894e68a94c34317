#!/usr/bin/env node
/**
 * The `biflow` command. This release carries the ODE core only; the flow commands of
 * DESIGN.md (train, eval, sample, plot, compare, tolerance, bench) arrive with the layers
 * that implement them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { METHOD_NAMES, TABLEAUX } from '../ode/index.js';

/** The package's own package.json: two levels up from src/cli, three from dist/src/cli. */
function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'biflow') return pkg.version;
    }
  }
  return 'unknown';
}
const pkg = { version: packageVersion() };

const HELP = `biflow ${pkg.version} — adaptive ODE solvers and normalizing flows for JavaScript

Usage: biflow <command> [options]

Commands available in this release:
  methods [--json]   list the built-in Runge–Kutta methods with their orders
  --version          print the version
  --help             print this help

The library API (odeint, solve, Dopri5, PIDController, SaveAt, …) is documented in README.md.`;

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(HELP);
    return 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    console.log(pkg.version);
    return 0;
  }
  if (cmd === 'methods') {
    const rows = METHOD_NAMES.map((name) => {
      const t = TABLEAUX[name];
      return { name, order: t.order, embeddedOrder: t.embeddedOrder ?? null, stages: t.stages, fsal: t.fsal, denseOrder: t.denseOrder, adaptive: t.adaptive };
    });
    if (rest.includes('--json')) console.log(JSON.stringify({ methods: rows }));
    else {
      for (const r of rows) {
        const order = `${r.order}${r.embeddedOrder ? `(${r.embeddedOrder})` : '   '}`;
        console.log(`${r.name.padEnd(9)} order ${order}  stages ${String(r.stages).padStart(2)}${r.fsal ? ' FSAL' : '     '}  dense order ${r.denseOrder}  ${r.adaptive ? 'adaptive' : 'fixed step'}`);
      }
    }
    return 0;
  }
  console.error(`biflow: unknown command '${cmd}'. Run 'biflow --help' for the commands this release has.`);
  return 2;
}

const invoked = process.argv[1] ?? '';
if (import.meta.url === `file://${invoked}` || invoked.endsWith('/biflow') || invoked.endsWith('main.js')) {
  process.exitCode = main(process.argv.slice(2));
}
