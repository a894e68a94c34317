/** `biflow train --resume`: the flags that shape a model must agree with the run being continued. */
import type { Command } from 'commander';
import type { FlowConfig } from '../biflow/registry.js';
import { InvalidArgumentError } from '../errors.js';

/** Each shape flag and where a flow's configuration keeps it. */
const SHAPE_FLAGS: [flag: string, key: string, get: (c: FlowConfig) => unknown][] = [
  ['--model', 'model', (c) => c.type],
  ['--hidden', 'hidden', (c) => c.hidden],
  ['--layers', 'layers', (c) => c.layers],
  ['--seed', 'seed', (c) => c.seed],
  ['--blocks', 'blocks', (c) => c.blocks],
  ['--cnf-hidden', 'cnfHidden', (c) => c.cnfHidden],
  ['--solver', 'solver', (c) => c.cnf?.method],
  ['--tol', 'tol', (c) => c.cnf?.rtol],
  ['--trace', 'trace', (c) => c.cnf?.trace],
  ['--gradient', 'gradient', (c) => c.cnf?.gradient],
  ['--kinetic-weight', 'kineticWeight', (c) => c.cnf?.kineticWeight],
  ['--jacobian-weight', 'jacobianWeight', (c) => c.cnf?.jacobianWeight],
];

/**
 * Refuses a flag given on the command line whose value differs from the resumed run's (a resumed
 * run keeps its saved model; silently ignoring `--model nsf` would train something else than asked).
 * `asked` is the configuration the flags would build, `saved` the run's.
 */
export function refuseResumeConflicts(cmd: Command, out: string, asked: FlowConfig, saved: FlowConfig): void {
  for (const [flag, key, get] of SHAPE_FLAGS) {
    if (cmd.getOptionValueSource(key) !== 'cli') continue;
    const [a, s] = [get(asked), get(saved)];
    if (JSON.stringify(a) !== JSON.stringify(s)) {
      throw new InvalidArgumentError('biflow train', flag, a, `is {value} but the run in ${out} was trained with ${s === undefined ? 'the default' : JSON.stringify(s)}. --resume continues the saved model: drop ${flag}, or start a new run in another --out.`);
    }
  }
}
