/**
 * The engine's gradient tape on error paths. While a gradient is being taken, tfjs 4.22 records
 * every op on a tape and keeps a clone of each tensor an op's gradient will read (`saved`); it
 * frees those clones only after a backward pass that succeeds. A computation that throws while
 * recording leaves its ops' saved tensors behind for good (the next gradient starts a new tape),
 * and so does a backward pass that throws. These helpers free them; tfjs has no public API for
 * it, so this is the one module that reads the engine's private tape state.
 */
import { tf } from './engine.js';

type Tensor = tf.Tensor;

interface TapeNode {
  inputs?: Record<string, Tensor>;
  saved?: Tensor[];
  outputs?: Tensor[];
}

/** The fields of tfjs 4.22's engine state that gradient bookkeeping reads. */
export interface EngineTapeState {
  activeTape: TapeNode[] | null;
  gradientDepth: number;
  kernelDepth: number;
}

/** The engine's tape state (tfjs 4.22 `engine.state`). */
export function engineState(): EngineTapeState {
  return (tf.engine() as unknown as { state: EngineTapeState }).state;
}

/** Whether ops run now are recorded on a tape (a gradient is being taken, outside any kernel). */
export function isRecording(): boolean {
  const s = engineState();
  return s.gradientDepth > 0 && s.kernelDepth === 0 && s.activeTape !== null;
}

/**
 * Whether a tape records inside another one's (a gradient of a gradient may be taken): an op's
 * backward pass can only be taped where its forward pass ran this deep.
 */
export function isNestedRecording(): boolean {
  return isRecording() && engineState().gradientDepth > 1;
}

/** Inside a customGrad op's forward pass (kernel depth 1): whether a gradient tape recorded the op, so its backward pass will run. */
export function isTapedOp(): boolean {
  const s = engineState();
  return s.gradientDepth > 0 && s.kernelDepth === 1;
}

function freeNodes(nodes: readonly TapeNode[], outputs: boolean): void {
  for (const node of nodes) {
    for (const t of node.saved ?? []) t.dispose();
    // Of an abandoned tape's outputs only the gradient's value (the loss the failed call never
    // returned) is still alive and not kept: the forward's tidy freed the rest.
    if (outputs) for (const t of node.outputs ?? []) if (!t.kept && !t.isDisposed) t.dispose();
  }
}

/**
 * Runs fn; if it throws while a tape is recording, removes the ops fn recorded from the tape and
 * frees what they saved. Their outputs died with fn (scopes and tidies dispose on throw), so no
 * later gradient can reach them; the tape before fn stays as it was, so a caller that catches
 * the error can still take its gradient.
 */
export function withTapeCleanup<T>(fn: () => T): T {
  const undo = tapeMark();
  try {
    return fn();
  } catch (e) {
    undo();
    throw e;
  }
}

/** {@link withTapeCleanup} for steps that yield (a solve driven sync or async): the same cleanup when they throw. */
export function* cleanTapeOnError<T, R>(steps: Generator<R, T, unknown>): Generator<R, T, unknown> {
  const undo = tapeMark();
  try {
    return yield* steps;
  } catch (e) {
    undo();
    throw e;
  }
}

/** Marks the tape's length now; the returned function frees what was recorded since. */
function tapeMark(): () => void {
  const state = engineState();
  const tape = isRecording() ? state.activeTape : null;
  const mark = tape?.length ?? 0;
  return () => {
    if (tape && state.activeTape === tape && tape.length > mark) freeNodes(tape.splice(mark), false);
  };
}

/**
 * Frees the active tape after a backward pass threw at the outermost level: tfjs abandons the
 * tape then (the pass cannot resume) without freeing what its ops saved, as a successful pass
 * would, nor the value it was differentiating. Call it only from a failing backward pass (or a
 * failed `engine.gradients` whose tape was its own); at gradient depth > 0 an enclosing
 * computation still records, and it does nothing.
 */
export function releaseAbandonedTape(): void {
  const state = engineState();
  const tape = state.activeTape;
  if (state.gradientDepth !== 0 || tape == null) return;
  state.activeTape = null;
  freeNodes(tape, true);
}

/**
 * Runs fn on a tape of its own (the enclosing tape, if any, records nothing of it) and returns
 * its result with the trainable variables that result depends on: those from which a recorded op
 * leads to an output. The private tape is freed before returning; the result stays the caller's.
 * One evaluation's bookkeeping, no backward pass: how a custom gradient that reaches only listed
 * parameters finds the variables its function reads without listing them.
 */
export function trainableDependencies<T extends Tensor | readonly Tensor[]>(fn: () => T): { result: T; variables: tf.Variable[] } {
  const state = engineState();
  const saved = { activeTape: state.activeTape, gradientDepth: state.gradientDepth, kernelDepth: state.kernelDepth };
  const tape: TapeNode[] = [];
  state.activeTape = tape;
  state.gradientDepth = 1;
  state.kernelDepth = 0;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    freeNodes(tape, false);
    throw e;
  } finally {
    state.activeTape = saved.activeTape;
    state.gradientDepth = saved.gradientDepth;
    state.kernelDepth = saved.kernelDepth;
  }
  try {
    // The tape is in execution order: one backward sweep finds every tensor an output depends on.
    const reached = new Set<number>((Array.isArray(result) ? result : [result]).map((t) => (t as Tensor).id));
    for (let i = tape.length - 1; i >= 0; i--) {
      const node = tape[i]!;
      if (!(node.outputs ?? []).some((o) => reached.has(o.id))) continue;
      for (const input of Object.values(node.inputs ?? {})) reached.add(input.id);
    }
    const variables = Object.values(tf.engine().registeredVariables).filter((v) => v.trainable && reached.has(v.id));
    return { result, variables };
  } finally {
    freeNodes(tape, false);
  }
}
