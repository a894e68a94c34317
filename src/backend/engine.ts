/**
 * The tensor engine: the one `@tensorflow/tfjs` instance biflow uses, re-exported so user code
 * creates tensors and variables on the same engine (`import { tf } from 'biflow'`). The full
 * `@tensorflow/tfjs` package (not `tfjs-core` alone) is what registers every op's gradient.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
