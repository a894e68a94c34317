/**
 * The tensor engine: the one `@tensorflow/tfjs-core` instance biflow uses, re-exported so user code
 * creates tensors and variables on the same engine (`import { tf } from 'biflow'`). tfjs-core alone
 * registers no gradients: `#tf-gradients` (package.json `imports`) does — in Node through
 * `@tensorflow/tfjs-layers`, whose Node bundle is the one scoped package that registers all of
 * core's gradients in a form Node can load (core's own `dist/register_all_gradients.js` is ESM
 * with extensionless imports, which only bundlers resolve); in browsers through that very file,
 * which the bundler resolves in the same module graph as core. The cpu backend is always there.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '#tf-gradients';

export { tf };
