// odex ships its TypeScript source (not declarations) next to its JS, and that source does not
// compile under `strict`. This declares the part of its API that the tests and benchmarks use.
declare module 'odex' {
  export enum Outcome {
    Converged,
    MaxStepsExceeded,
    EarlyReturn,
  }
  export class Solver {
    constructor(n: number);
    relativeTolerance: number | number[];
    absoluteTolerance: number | number[];
    maxSteps: number;
    denseOutput: boolean;
    solve(
      f: (x: number, y: number[]) => number[],
      x: number,
      y0: number[],
      xEnd: number,
      solOut?: (nr: number, xold: number, x: number, y: number[]) => boolean | void,
    ): { y: number[]; outcome: Outcome; nStep: number; xEnd: number; nAccept: number; nReject: number; nEval: number };
  }
}
