export { densityFigure, samplesFigure, trajectoryFigure, toPng } from './figures.js';
export type { Extent } from './figures.js';
