export { train } from './train.js';
export type { Trainable, TrainOptions, TrainResult, LogRecord, FolderWriter } from './train.js';
export { OutputPathError } from './folders.js';
export { OutputInUseError } from './lock.js';
export type { LockOwner } from './lock.js';
export { CheckpointFileError } from './checkpoint.js';
