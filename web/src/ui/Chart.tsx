// A time-series line chart (uPlot) that fills its container's width, with dates and numbers
// in the user's locale, and a text alternative: the latest values are also given in words.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { formatDateTime, formatNumber, locale, t } from "../lib/i18n";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[];
}

export const PALETTE = ["#0f766e", "#b45309", "#4f46e5", "#be123c"];

function axisDate(seconds: number, spanSeconds: number): string {
  const date = new Date(seconds * 1000);
  const options: Intl.DateTimeFormatOptions =
    spanSeconds > 300 * 86_400
      ? { year: "numeric", month: "short" }
      : spanSeconds > 2 * 86_400
      ? { month: "short", day: "numeric" }
      : spanSeconds > 3600
        ? { hour: "2-digit", minute: "2-digit" }
        : { hour: "2-digit", minute: "2-digit", second: "2-digit" };
  return new Intl.DateTimeFormat(locale(), options).format(date);
}

export function Chart(props: {
  label: string;
  unit?: string;
  times: number[]; // unix seconds, ascending
  series: ChartSeries[];
  height?: number;
  testid?: string;
  digits?: number;
  summary?: string;
  /** Show this many seconds up to the last point (a live chart), instead of the data's span. */
  windowSeconds?: number;
}) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const digits = props.digits ?? 1;

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const span = (u: uPlot) => (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0);
    const window = props.windowSeconds;
    const options: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 220,
      cursor: { focus: { prox: 16 } },
      legend: { live: true },
      scales: {
        x: window
          ? { time: true, range: (_u, _min, max) => [max - window, max] }
          : {
              time: true,
              // One point (or one day's): a day either side, not years.
              range: (_u, min, max) =>
                max - min < 3600 ? [min - 86_400, max + 86_400] : [min, max],
            },
        // Counts (digits 0) start at zero and step in whole numbers.
        y: digits === 0 ? { range: (_u, _min, max) => [0, Math.max(2, Math.ceil(max * 1.2))] } : {},
      },
      axes: [
        {
          stroke: "#475569",
          grid: { stroke: "#e2e8f0" },
          values: (u, splits) => splits.map((s) => axisDate(s, span(u))),
        },
        {
          stroke: "#475569",
          grid: { stroke: "#e2e8f0" },
          label: props.unit,
          ...(digits === 0 ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] } : {}),
          values: (_u, splits) => splits.map((s) => formatNumber(s, digits)),
        },
      ],
      series: [
        {
          label: t("chart.time"),
          value: (_u, v) => (v == null ? "—" : formatDateTime(new Date(v * 1000))),
        },
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          dash: s.dash,
          points: { show: true, size: 6 },
          spanGaps: true,
          value: (_u: uPlot, v: number | null) => (v == null ? "—" : formatNumber(v, digits)),
        })),
      ],
    };
    const data = [props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData;
    const chart = new uPlot(options, data, el);
    plot.current = chart;
    const observer = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(200, el.clientWidth), height: props.height ?? 220 });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // A new chart when what is drawn changes (series, language); data updates are cheap.
  }, [props.series.map((s) => s.label).join("|"), props.unit, locale(), props.height]);

  useEffect(() => {
    plot.current?.setData([props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData);
  }, [props.times, props.series]);

  return (
    <figure class="chart" data-testid={props.testid}>
      <figcaption class="chart-caption">{props.label}</figcaption>
      <div ref={holder} class="chart-canvas" aria-hidden="true" />
      {props.summary ? <p class="sr-only">{props.summary}</p> : null}
    </figure>
  );
}
