export { train } from './train.js';
export type { Trainable, TrainOptions, TrainResult, LogRecord } from './train.js';
