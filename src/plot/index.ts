export { densityFigure, samplesFigure, toPng } from './figures.js';
export type { Extent } from './figures.js';
