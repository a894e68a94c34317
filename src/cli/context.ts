/**
 * The CLI's context flags, for conditional flows q(x | c):
 * - train and eval: `--context x1,x2` names the columns of --data that are the context (header
 *   names or 0-based indices); the rest are x. Eval scores the held-out rows given their own
 *   contexts, so it names columns too.
 * - sample and plot: `--context 0.5,-1` is one context (n samples from q(x | c)); sample also takes
 *   `--context-file FILE` (.csv/.npy), one context per row and one sample per row.
 * A wrong combination is a usage error (exit 2), found before anything is drawn.
 */
import { Option } from 'commander';
import { loadDataFile } from '../data/files.js';
import { BiflowError } from '../errors.js';
import type { Flow } from '../flows/flow.js';
import { list, UsageError } from './options.js';

/** `--context <columns>` of train and eval. */
export const contextColumnsOption = (): Option =>
  new Option('--context <columns>', 'conditional flow q(x | c): the columns of --data that are the context c, by header name or 0-based index, e.g. x1,x2').argParser((v: string) => {
    const cols = v.split(',').map((s) => s.trim());
    if (cols.some((s) => s === '')) throw new UsageError('biflow', '--context', v, 'must be comma-separated column names or 0-based indices, e.g. x1,x2 or 2,3, got {value}.');
    return cols;
  });

/** `--context <values>`: one context of a conditional model. */
export const contextValuesOption = (): Option => new Option('--context <values>', 'conditional model: one context c as comma-separated numbers, e.g. 0.5,-1').argParser(list('context'));

/** `--context-file <file>`: context rows, one per sample. */
export const contextFileOption = (): Option => new Option('--context-file <file>', 'conditional model: a .csv/.npy file of context rows, one sample per row');

/** The context for `n` rows of a saved model from --context / --context-file, and how many rows to draw (a file: one per row). */
export function contextFromFlags(fn: string, flow: Flow, o: { context?: number[]; contextFile?: string }, n: number): { context?: number[] | Float32Array; n: number } {
  const k = flow.contextDim;
  if (o.context !== undefined && o.contextFile !== undefined) throw new UsageError(fn, '--context', o.context.join(','), 'cannot go with --context-file: give one context, or a file of them, not both.');
  const given = o.context ?? o.contextFile;
  if (k === 0) {
    if (given !== undefined) throw new UsageError(fn, o.context ? '--context' : '--context-file', given, 'is for a conditional model, got {value} for one with no context (contextDim 0). Drop it.');
    return { n };
  }
  if (given === undefined) throw new UsageError(fn, '--context', undefined, `is needed, got {value}: the model is conditional (contextDim ${k}). Give one context as ${k} comma-separated numbers, or --context-file FILE.`);
  if (o.context) {
    if (o.context.length !== k) throw new UsageError(fn, '--context', o.context.join(','), `must have ${k} numbers (the model's contextDim), got {value}.`);
    return { context: o.context, n };
  }
  const table = loadDataFile(o.contextFile!);
  if (table.dim !== k) throw new BiflowError(`${fn}: ${o.contextFile} has ${table.dim} columns where the model's context has ${k}. Give one context per row, ${k} values each.`);
  return { context: table.data, n: table.rows === 1 ? n : table.rows };
}

/** Rejects a conditional model evaluated without its context columns, and a width mismatch. */
export function checkDataContext(fn: string, flow: Flow, contextDim: number | undefined, data: string): void {
  if (flow.contextDim > 0 && contextDim === undefined) throw new UsageError(fn, '--context', undefined, `is needed, got {value}: the model is conditional (contextDim ${flow.contextDim}). Name the context columns of ${data}, e.g. --context x1,x2.`);
  if (flow.contextDim === 0 && contextDim !== undefined) throw new UsageError(fn, '--context', contextDim, 'is for a conditional model, got {value} context columns for one with no context (contextDim 0). Drop it.');
  if (contextDim !== undefined && contextDim !== flow.contextDim) throw new BiflowError(`${fn}: the model's context has ${flow.contextDim} columns but --context names ${contextDim}. Name the columns the model was trained with.`);
}

/** `--context` names columns of a data file: refused (usage) with a toy or tabular dataset. */
export function checkContextData(fn: string, context: string[] | undefined, data: string): void {
  if (context !== undefined && !/\.(csv|npy|txt)$/.test(data)) throw new UsageError(fn, '--context', context.join(','), `names columns of a .csv/.npy --data file, got {value} with --data ${data}, which is not one.`);
}
