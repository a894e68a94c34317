/** The page's state as `window.__biflow`, for tests and the curious (read-only by convention). */

/** What the page reports about itself. */
export interface PlaygroundStatus {
  /** The backend is up and the first model is built. */
  ready: boolean;
  backend: string;
  model: string;
  running: boolean;
  iterations: number;
  /** Latest training loss and every loss so far (nats). */
  loss: number | null;
  losses: number[];
  /** Latest held-out NLL (nats, exact trace). */
  nll: number | null;
  nfeForward: number;
  nfeBackward: number;
  /** Training iterations per second, timed over the training steps alone. */
  itersPerSecond: number | null;
  /** How many times the density panel has been redrawn. */
  densityDraws: number;
  /** tf.memory().numTensors after the latest iteration and its drawing. */
  numTensors: number;
  /** The latest error shown to the user, or null. */
  error: string | null;
  /** Why the WebGPU device was lost, if it was (the page then moved to wasm). */
  deviceLost: string | null;
}

/** The status object, created once and updated in place. */
export const status: PlaygroundStatus = {
  ready: false, backend: '', model: '', running: false, iterations: 0, loss: null, losses: [], nll: null,
  nfeForward: 0, nfeBackward: 0, itersPerSecond: null, densityDraws: 0, numTensors: 0, error: null, deviceLost: null,
};

declare global {
  interface Window {
    __biflow: PlaygroundStatus;
  }
}
window.__biflow = status;

/** Resolves after the browser has had a chance to paint and handle input (no 4 ms timer clamp). */
export function yieldToUi(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(0);
  });
}
