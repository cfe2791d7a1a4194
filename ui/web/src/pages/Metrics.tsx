import { type FormEvent, useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { queryRange, type PromSeries } from "../api";
import { PromQLEditor } from "../PromQLEditor";
import { MetricBrowser } from "./MetricBrowser";

const RANGES: Record<string, number> = { "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400 };

/** A series' name as Prometheus writes it: `name{label="value", …}`. */
function seriesName(metric: Record<string, string>): string {
  const { __name__: name = "", ...labels } = metric;
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return pairs.length ? `${name}{${pairs.join(", ")}}` : name || "{}";
}

/** uPlot's data: the union of the series' times, then one column per series (null where it has no sample). */
function plotData(series: PromSeries[]): uPlot.AlignedData {
  const times = [...new Set(series.flatMap((s) => s.values.map(([t]) => t)))].sort((a, b) => a - b);
  const columns = series.map((s) => {
    const byTime = new Map(s.values.map(([t, v]) => [t, Number(v)]));
    return times.map((t) => byTime.get(t) ?? null);
  });
  return [times, ...columns];
}

function Chart({ series }: { series: PromSeries[] }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: element.clientWidth || 800,
      height: 300,
      series: [{}, ...series.map((s, i) => ({ label: seriesName(s.metric), stroke: `hsl(${(i * 67) % 360} 60% 45%)` }))],
    };
    const plot = new uPlot(options, plotData(series), element);
    return () => plot.destroy();
  }, [series]);
  return <div className="chart" ref={container} />;
}

export function Metrics() {
  const [query, setQuery] = useState("");
  const [range, setRange] = useState("1h");
  const [series, setSeries] = useState<PromSeries[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function run(event?: FormEvent, chosen?: string) {
    event?.preventDefault();
    setError(null);
    try {
      setSeries(await queryRange(chosen ?? query, RANGES[range] ?? 3600));
    } catch (e) {
      setSeries(null);
      setError((e as Error).message);
    }
  }

  function choose(chosen: string) {
    setQuery(chosen);
    void run(undefined, chosen);
  }

  return (
    <section className="metrics-page">
      <MetricBrowser choose={choose} />
      <div className="metrics-main">
        <form className="search" onSubmit={run}>
          <PromQLEditor value={query} onChange={setQuery} onSubmit={() => run()} />
          <select name="range" value={range} onChange={(e) => setRange(e.target.value)}>
            {Object.keys(RANGES).map((key) => (
              <option key={key} value={key}>
                Last {key}
              </option>
            ))}
          </select>
          <button type="submit">Run</button>
        </form>
        {error && <p className="error">{error}</p>}
        {series && series.length === 0 && <p>No series.</p>}
        {series && series.length > 0 && <Chart series={series} />}
        {series && series.length > 0 && (
          <table className="logs">
            <thead>
              <tr>
                <th>Series</th>
                <th>Last value</th>
              </tr>
            </thead>
            <tbody>
              {series.map((s) => (
                <tr key={seriesName(s.metric)}>
                  <td>{seriesName(s.metric)}</td>
                  <td>{s.values.at(-1)?.[1] ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
