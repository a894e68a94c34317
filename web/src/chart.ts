/** A small line chart on a canvas: several series against the iteration, autoscaled. */

/** One line of a chart. */
export interface Series {
  label: string;
  color: string;
  points: readonly (readonly [number, number])[];
}

const PAD = { left: 48, right: 10, top: 22, bottom: 22 };

/** Draws the series (or `empty` when none has a point). */
export function drawChart(canvas: HTMLCanvasElement, series: readonly Series[], empty = 'no data yet'): void {
  const ctx = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  ctx.fillStyle = '#0b0e12';
  ctx.fillRect(0, 0, w, h);
  ctx.font = '11px system-ui, sans-serif';
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  if (all.length === 0) {
    ctx.fillStyle = '#93a1b0';
    ctx.fillText(empty, PAD.left, h / 2);
    return;
  }
  const xMax = Math.max(1, ...all.map(([x]) => x));
  let yMin = Math.min(...all.map(([, y]) => y));
  let yMax = Math.max(...all.map(([, y]) => y));
  if (yMax - yMin < 1e-9) [yMin, yMax] = [yMin - 1, yMax + 1];
  const px = (x: number) => PAD.left + (x / xMax) * (w - PAD.left - PAD.right);
  const py = (y: number) => h - PAD.bottom - ((y - yMin) / (yMax - yMin)) * (h - PAD.top - PAD.bottom);
  ctx.strokeStyle = '#2a323c';
  ctx.fillStyle = '#93a1b0';
  for (let k = 0; k <= 4; k++) {
    const y = yMin + ((yMax - yMin) * k) / 4;
    ctx.beginPath();
    ctx.moveTo(PAD.left, py(y));
    ctx.lineTo(w - PAD.right, py(y));
    ctx.stroke();
    ctx.fillText(y.toPrecision(3), 4, py(y) + 4);
  }
  ctx.fillText(`iteration ${Math.round(xMax)}`, w - PAD.right - 80, h - 6);
  series.forEach((s, k) => {
    ctx.strokeStyle = ctx.fillStyle = s.color;
    ctx.fillText(s.label, PAD.left + 8 + k * 110, 14);
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(px(x), py(y)) : ctx.lineTo(px(x), py(y))));
    ctx.stroke();
  });
}
