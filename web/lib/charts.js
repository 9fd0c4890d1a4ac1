// Charts for the reports (uPlot, vendored under web/vendor/uplot): a time series of lines or
// bars and a bar chart over named categories. Each fills its container's width and redraws when
// that changes (a phone's 390 px included); colours come from the console's tokens. The numbers
// are also given as text (`summary`) for screen readers, since a canvas says nothing.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "/vendor/uplot/uPlot.esm.js";
import { html } from "./html.js";
import { t } from "./i18n.js";

/** The series colours, in order (the design tokens' primary, success, warning, danger, muted). */
export const COLOURS = ["#2563EB", "#059669", "#D97706", "#DC2626", "#64748B", "#7C3AED"];

let stylesheet = null;
/** uPlot's own stylesheet, added once (CSP allows styles from this origin). */
function useChartStyles() {
  if (stylesheet) return;
  stylesheet = document.createElement("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = "/vendor/uplot/uPlot.min.css";
  document.head.append(stylesheet);
}

/**
 * A chart: `x` the positions (Unix seconds for time, or 0…n-1 with `labels` for categories),
 * `series` `[{label, values, bars?}]`, `format` a value's text (axis and legend).
 */
export function Chart({ title, x, series, labels, height = 220, format = (value) => String(value), summary }) {
  const holder = useRef(null);
  useChartStyles();
  useEffect(() => {
    const element = holder.current;
    if (!element || !x.length) return undefined;
    const categories = Array.isArray(labels);
    const bars = uPlot.paths.bars({ size: [0.6, 48] });
    const options = {
      width: Math.max(element.clientWidth, 200),
      height,
      scales: { x: { time: !categories, ...(categories ? { range: [-0.5, x.length - 0.5] } : {}) }, y: { range: (_, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [
        categories
          ? { values: (_, ticks) => ticks.map((tick) => labels[Math.round(tick)] ?? ""), splits: () => x, grid: { show: false } }
          : {},
        { values: (_, ticks) => ticks.map(format), size: 56 },
      ],
      legend: { show: series.length > 1 || !categories },
      series: [
        {},
        ...series.map((entry, index) => ({
          label: entry.label,
          stroke: COLOURS[index % COLOURS.length],
          fill: entry.bars || categories ? `${COLOURS[index % COLOURS.length]}cc` : undefined,
          width: 2,
          paths: entry.bars || categories ? bars : undefined,
          points: { show: !(entry.bars || categories) && x.length < 40 },
          value: (_, value) => (value === null || value === undefined ? "–" : format(value)),
        })),
      ],
    };
    const chart = new uPlot(options, [x, ...series.map((entry) => entry.values)], element);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 200), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [JSON.stringify({ x, series, labels }), height]);
  return html`<figure class="chart" data-chart=${title}>
    <figcaption>${title}</figcaption>
    ${x.length ? html`<div class="chart-canvas" ref=${holder}></div>` : html`<p class="empty">${t("console.chart.empty")}</p>`}
    ${summary && html`<p class="visually-hidden">${summary}</p>`}
  </figure>`;
}
