export { densityFigure, samplesFigure, trajectoryFigure } from './figures.js';
export type { Extent, AxisLabels, DensityFigureOptions } from './figures.js';
export { toPng } from './png.js';
export type { PngOptions } from './png.js';
export { lineChart, logLogChart, gridFigure } from './charts.js';
export type { Series, ChartOptions } from './charts.js';
