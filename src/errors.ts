/**
 * Typed errors for every layer of biflow.
 *
 * A message names the function, the argument, the value received and a fix, e.g.
 * `odeint: rtol must be a positive finite number, got -1. Pass e.g. { rtol: 1e-6, atol: 1e-9 }.`
 */

/** Base class of every error biflow throws on purpose. */
export class BiflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An argument has the wrong type, shape or value. */
export class InvalidArgumentError extends BiflowError {
  constructor(
    /** The public function that rejected the argument, e.g. `odeint`. */
    readonly fn: string,
    /** The argument's name, e.g. `rtol` or `ts[3]`. */
    readonly arg: string,
    /** The value received. */
    readonly value: unknown,
    /** What was expected and how to fix it (full sentences). */
    readonly expectation: string,
  ) {
    super(`${fn}: ${arg} ${expectation.replace('{value}', describe(value))}`);
  }
}

/**
 * The solver needed more steps than `maxSteps`; `partial` holds the solution up to where it
 * stopped (`partial.status === 'max_steps'`, `partial.t1` the time reached). With tensor states the
 * partial's tensors belong to the caller, like any solve's outputs: release them with
 * `err.partial.dispose()` (inside a `tf.tidy` they go with its scope). Everything else the solve
 * made, its recorded gradient ops included, is freed before the error is thrown; the partial
 * carries no gradient.
 */
export class MaxStepsExceededError<P = unknown> extends BiflowError {
  constructor(
    message: string,
    readonly t: number,
    readonly partial: P,
  ) {
    super(message);
  }
}

/** The step size shrank below what float64 time can resolve (or below `minStep`). */
export class StepSizeUnderflowError extends BiflowError {
  constructor(
    message: string,
    readonly t: number,
    readonly h: number,
  ) {
    super(message);
  }
}

/** The state or its derivative stayed NaN/Inf even after the controller shrank the step. */
export class NonFiniteError extends BiflowError {
  constructor(
    message: string,
    readonly t: number,
  ) {
    super(message);
  }
}

/** The Newton / W matrix of a stiff method stayed singular however the step was shrunk. */
export class SingularMatrixError extends BiflowError {
  constructor(
    message: string,
    readonly t: number,
    readonly h: number,
  ) {
    super(message);
  }
}

/** Short, printable description of a received value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const arr = Array.from(value as ArrayLike<unknown>);
    const head = arr.slice(0, 6).map((v) => describe(v)).join(', ');
    return `[${head}${arr.length > 6 ? `, … (${arr.length} items)` : ''}]`;
  }
  if (typeof value === 'function') return `a function`;
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}


/**
 * A synchronous function needed a value from the device, and the backend (WebGPU) can only read
 * asynchronously. `asyncForm` names the function to call instead, e.g. `odeintAsync`.
 */
export class SyncReadError extends BiflowError {
  constructor(
    /** The function that needed the read. */
    readonly fn: string,
    /** Its asynchronous form. */
    readonly asyncForm: string,
  ) {
    super(
      `${fn}: reads a value from the device synchronously, and this backend (WebGPU) can only read asynchronously. ` +
        `Use ${asyncForm} (await it), or a backend with synchronous reads (wasm, cpu).`,
    );
  }
}
