export { densityFigure, samplesFigure, trajectoryFigure, toPng } from './figures.js';
export type { Extent } from './figures.js';
export { logLogChart, gridFigure } from './charts.js';
export type { Series } from './charts.js';
