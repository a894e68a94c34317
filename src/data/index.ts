export { toyData, TOY_DATASETS } from './toy.js';
export type { ToyDataset } from './toy.js';
export { loadDataFile, DataFileError } from './files.js';
export type { Table } from './files.js';
export { loadDataset } from './dataset.js';
export type { Dataset } from './dataset.js';
export { rng } from './random.js';
export type { Rng } from './random.js';
