/** `biflow train --resume`: the flags that shape a model must agree with the run being continued. */
import type { Command } from 'commander';
import type { FlowConfig } from '../biflow/registry.js';
import { InvalidArgumentError } from '../errors.js';

const cnfModel = (c: FlowConfig) => c.type === 'ffjord' || c.type === 'biflow';
const always = () => true;

/** Each shape flag, its option key, where a flow's configuration keeps it, and which models it applies to. */
const SHAPE_FLAGS: [flag: string, key: string, get: (c: FlowConfig) => unknown, applies: (c: FlowConfig) => boolean][] = [
  ['--model', 'model', (c) => c.type, always],
  ['--hidden', 'hidden', (c) => c.hidden, always],
  ['--layers', 'layers', (c) => c.layers, always],
  ['--seed', 'seed', (c) => c.seed, always],
  ['--blocks', 'blocks', (c) => c.blocks, (c) => c.type === 'biflow'],
  ['--cnf-hidden', 'cnfHidden', (c) => c.cnfHidden, (c) => c.type === 'biflow'],
  ['--solver', 'solver', (c) => c.cnf?.method, cnfModel],
  ['--tol', 'tol', (c) => c.cnf?.rtol, cnfModel],
  ['--trace', 'trace', (c) => c.cnf?.trace, cnfModel],
  ['--gradient', 'gradient', (c) => c.cnf?.gradient, cnfModel],
  ['--kinetic-weight', 'kineticWeight', (c) => c.cnf?.kineticWeight, cnfModel],
  ['--jacobian-weight', 'jacobianWeight', (c) => c.cnf?.jacobianWeight, cnfModel],
];

/**
 * Refuses a shape flag given on the command line whose value differs from the resumed run's
 * configuration `saved` (a resumed run keeps its saved model, so silently ignoring `--model nsf`
 * would train something else than asked). Flags that do not apply to the run's model type are
 * ignored, as they are for a new run.
 */
export function refuseResumeConflicts(cmd: Command, out: string, saved: FlowConfig): void {
  for (const [flag, key, get, applies] of SHAPE_FLAGS) {
    if (cmd.getOptionValueSource(key) !== 'cli' || (key !== 'model' && !applies(saved))) continue;
    const [asked, was] = [cmd.getOptionValue(key) as unknown, get(saved)];
    if (JSON.stringify(asked) !== JSON.stringify(was)) {
      throw new InvalidArgumentError('biflow train', flag, asked, `is {value} but the run in ${out} was trained with ${was === undefined ? 'the default' : JSON.stringify(was)}. --resume continues the saved model: drop ${flag}, or start a new run in another --out.`);
    }
  }
}
