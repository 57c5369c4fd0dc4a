// A chart of named series over time, drawn with uPlot (vendored: /vendor/uplot/). Points come
// from two sources, history (the buckets of a statistics query) and live (subscription
// messages); they are kept per series as time → value, so either can add or replace a point and
// a series can appear at any time (a new latency stage). Thresholds of alert rules are drawn as
// horizontal lines on the scale they watch, red while the rule is firing.
/* global uPlot */

const PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4d7c0f", "#475569"];

/**
 * options: { element, title, scales: { key: { label, unit, side: "left" | "right" } },
 *            windowSeconds: () => [from, to] (unix seconds) }
 */
export function createChart(options) {
  const { element, scales } = options;
  const series = new Map(); // name → { scale, dash, color, points: Map<x, y> }
  let thresholds = [];
  let plot;
  let shape = "";
  let colorIndex = 0;

  const size = () => ({ width: Math.max(320, element.clientWidth - 8), height: 230 });

  const drawThresholds = (u) => {
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    for (const t of thresholds) {
      if (!u.scales[t.scale]) continue;
      const y = u.valToPos(t.value, t.scale, true);
      if (!Number.isFinite(y) || y < top || y > top + height) continue;
      ctx.save();
      ctx.strokeStyle = t.firing ? "#dc2626" : "#f59e0b";
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash([8 * devicePixelRatio, 5 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle;
      ctx.font = `${11 * devicePixelRatio}px sans-serif`;
      ctx.textAlign = "left";
      ctx.textBaseline = "bottom";
      ctx.fillText(`${t.label}${t.firing ? " (FIRING)" : ""}`, left + 6 * devicePixelRatio, y - 4 * devicePixelRatio);
      ctx.restore();
    }
  };

  const build = () => {
    plot?.destroy();
    const names = [...series.keys()];
    const scaleKeys = Object.keys(scales);
    plot = new uPlot(
      {
        title: options.title,
        ...size(),
        scales: {
          x: { time: true, range: () => options.windowSeconds() },
          ...Object.fromEntries(
            scaleKeys.map((key) => [
              key,
              {
                // A log scale (latency: sub-millisecond stages beside seconds-long ones) or a
                // linear one from 0; with room above the largest value and any threshold line.
                ...(scales[key].log ? { distr: 3, log: 10 } : {}),
                range: (_u, min, max) => {
                  const top = Math.max(
                    max ?? 0,
                    ...thresholds.filter((t) => t.scale === key).map((t) => t.value * 1.15),
                    scales[key].min ?? 1e-9,
                  );
                  if (scales[key].log) {
                    const bottom = Math.min(
                      min > 0 ? min : 1,
                      ...thresholds.filter((t) => t.scale === key).map((t) => t.value),
                    );
                    return [10 ** Math.floor(Math.log10(bottom)), 10 ** Math.ceil(Math.log10(top))];
                  }
                  return [Math.min(0, min ?? 0), top * 1.05];
                },
              },
            ]),
          ),
        },
        axes: [
          {},
          ...scaleKeys.map((key) => ({
            scale: key,
            side: scales[key].side === "right" ? 1 : 3,
            label: scales[key].label,
            grid: { show: scales[key].side !== "right" },
            size: 60,
          })),
        ],
        series: [
          {},
          ...names.map((name) => {
            const s = series.get(name);
            return { label: name, scale: s.scale, stroke: s.color, width: 1.5, dash: s.dash, spanGaps: true };
          }),
        ],
        hooks: { draw: [drawThresholds] },
      },
      data(),
      element,
    );
    shape = names.join("\u0000");
  };

  const data = () => {
    const xs = new Set();
    for (const s of series.values()) for (const x of s.points.keys()) xs.add(x);
    const sorted = [...xs].sort((a, b) => a - b);
    return [sorted, ...[...series.values()].map((s) => sorted.map((x) => s.points.get(x) ?? null))];
  };

  const chart = {
    /** Sets (adds or replaces) the point of `name` at x (unix seconds). */
    set(name, x, y, style = {}) {
      let s = series.get(name);
      if (!s) {
        s = {
          scale: style.scale ?? Object.keys(scales)[0],
          dash: style.dash,
          color: style.color ?? PALETTE[colorIndex++ % PALETTE.length],
          points: new Map(),
        };
        series.set(name, s);
      }
      if (y === null || y === undefined || !Number.isFinite(y)) s.points.delete(x);
      else s.points.set(x, y);
    },
    /** Removes every point (a new range or filter). */
    clear() {
      for (const s of series.values()) s.points.clear();
    },
    /** Drops points older than `from` (the window slid). */
    trim(from) {
      for (const s of series.values()) for (const x of s.points.keys()) if (x < from) s.points.delete(x);
    },
    setThresholds(list) {
      thresholds = list;
      plot?.redraw(true, true);
    },
    thresholds: () => thresholds.slice(),
    /** Points held, over every series (the tests watch it grow). */
    pointCount() {
      let n = 0;
      for (const s of series.values()) n += s.points.size;
      return n;
    },
    seriesNames: () => [...series.keys()],
    /** The latest point of a series: [x, y], or undefined. */
    last(name) {
      const points = series.get(name)?.points;
      if (!points || points.size === 0) return undefined;
      const x = Math.max(...points.keys());
      return [x, points.get(x)];
    },
    render() {
      const names = [...series.keys()].join("\u0000");
      if (!plot || names !== shape) build();
      else {
        plot.setData(data());
      }
    },
    resize() {
      plot?.setSize(size());
    },
  };
  return chart;
}
