/** The checks of train's options, all before any work starts. */
import { InvalidArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import type { Trainable, TrainOptions } from './train.js';

const positiveInt = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 1;

/** The validation rows of `validation` (rows, or a dataset's validation split), or null. */
export function validationRows(validation: TrainOptions['validation']): Float32Array | null {
  if (validation === undefined) return null;
  return validation instanceof Float32Array ? validation : validation.validation;
}

/** Throws an {@link InvalidArgumentError} naming the first bad option of `opts`. */
export function checkTrainOptions(fn: string, model: Trainable, data: Dataset, opts: TrainOptions): void {
  const { iters, batch = 100, lr = 1e-3, weightDecay = 0, logEvery = 50, checkpointEvery = 0, checkpointDir, callbacks = {}, signal, earlyStopping } = opts;
  if (!positiveInt(iters)) throw new InvalidArgumentError(fn, 'iters', iters, 'must be a positive integer, got {value}.');
  if (!positiveInt(batch)) throw new InvalidArgumentError(fn, 'batch', batch, 'must be a positive integer, got {value}.');
  if (!(lr > 0)) throw new InvalidArgumentError(fn, 'lr', lr, 'must be a positive number, got {value}. The usual value is 1e-3.');
  if (!(weightDecay >= 0)) throw new InvalidArgumentError(fn, 'weightDecay', weightDecay, 'must be a non-negative number, got {value}.');
  if (!positiveInt(logEvery)) throw new InvalidArgumentError(fn, 'logEvery', logEvery, 'must be a positive integer, got {value}.');
  if (!(Number.isInteger(checkpointEvery) && checkpointEvery >= 0)) throw new InvalidArgumentError(fn, 'checkpointEvery', checkpointEvery, 'must be a non-negative integer (0: only at the end), got {value}.');
  if ((checkpointEvery > 0 || checkpointDir) && (!checkpointDir || !opts.saveModel)) {
    throw new InvalidArgumentError(fn, 'checkpointDir', checkpointDir, 'and saveModel are both needed for checkpoints, got {value}.');
  }
  for (const [name, f] of Object.entries(callbacks)) {
    if (!['onIterationEnd', 'onEvaluation', 'onCheckpoint'].includes(name)) throw new InvalidArgumentError(fn, 'callbacks', name, 'has {value}, which is not one of onIterationEnd, onEvaluation, onCheckpoint.');
    if (typeof f !== 'function' && f !== undefined) throw new InvalidArgumentError(fn, `callbacks.${name}`, f, 'must be a function, got {value}.');
  }
  if (signal !== undefined && typeof signal?.aborted !== 'boolean') throw new InvalidArgumentError(fn, 'signal', signal, 'must be an AbortSignal (new AbortController().signal), got {value}.');
  checkValidation(fn, model, data, opts);
  if (earlyStopping !== undefined) {
    if (opts.validation === undefined) throw new InvalidArgumentError(fn, 'earlyStopping', earlyStopping, 'needs validation rows to watch: pass validation as well.');
    if (!positiveInt(earlyStopping.patience)) throw new InvalidArgumentError(fn, 'earlyStopping.patience', earlyStopping.patience, 'must be a positive integer (evaluations without improvement), got {value}.');
    const { minDelta = 0 } = earlyStopping;
    if (!(minDelta >= 0)) throw new InvalidArgumentError(fn, 'earlyStopping.minDelta', minDelta, 'must be a non-negative number of nats, got {value}.');
  }
}

function checkValidation(fn: string, model: Trainable, data: Dataset, opts: TrainOptions): void {
  const { validation, evalEvery } = opts;
  if (evalEvery !== undefined && !positiveInt(evalEvery)) throw new InvalidArgumentError(fn, 'evalEvery', evalEvery, 'must be a positive integer, got {value}.');
  if (validation === undefined) return;
  const rows = validation instanceof Float32Array ? validation : (validation as { validation?: unknown })?.validation;
  if (!(rows instanceof Float32Array)) {
    throw new InvalidArgumentError(fn, 'validation', validation, 'must be row-major rows (a Float32Array) or a dataset\'s { validation } split, got {value}.');
  }
  if (rows.length === 0 || rows.length % data.dim !== 0) {
    throw new InvalidArgumentError(fn, 'validation', rows.length, `must hold whole rows of the data's ${data.dim} columns, at least one, got {value} numbers.`);
  }
  if (typeof model.evaluate !== 'function') throw new InvalidArgumentError(fn, 'validation', 'rows', 'needs a model with evaluate(rows) (a Flow has it: its exact NLL); this model has none.');
  const { validationContext } = opts;
  if (data.context === undefined) {
    if (validationContext !== undefined) throw new InvalidArgumentError(fn, 'validationContext', validationContext, 'is for a conditional dataset (one with a context part), got {value} for an unconditional one.');
    return;
  }
  const k = data.context.dim;
  if (!(validationContext instanceof Float32Array) || validationContext.length !== (rows.length / data.dim) * k) {
    throw new InvalidArgumentError(fn, 'validationContext', validationContext instanceof Float32Array ? validationContext.length : validationContext, `must hold the ${k} context values of each of the ${rows.length / data.dim} validation rows (${(rows.length / data.dim) * k} numbers; e.g. data.context.test), got {value}.`);
  }
}
