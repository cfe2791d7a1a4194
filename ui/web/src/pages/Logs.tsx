import { type FormEvent, useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { literal, sql, type SqlResult } from "../api";

/** The time ranges offered, with the width of a bar of the histogram for each. */
const RANGES: Record<string, { interval: string; seconds: number; bucket: string; bucketSeconds: number }> = {
  "15m": { interval: "15 minutes", seconds: 900, bucket: "15 seconds", bucketSeconds: 15 },
  "1h": { interval: "1 hour", seconds: 3600, bucket: "1 minute", bucketSeconds: 60 },
  "24h": { interval: "24 hours", seconds: 86400, bucket: "15 minutes", bucketSeconds: 900 },
  "7d": { interval: "7 days", seconds: 604800, bucket: "2 hours", bucketSeconds: 7200 },
  "30d": { interval: "30 days", seconds: 2592000, bucket: "12 hours", bucketSeconds: 43200 },
};
/** OTLP's severity numbers where each level starts. */
const SEVERITIES: Record<string, number> = { any: 0, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };
const PAGE_ROWS = 200;
/** How often live tail runs the search again. */
const TAIL_MS = 2000;

export interface LogFilters {
  text: string;
  service: string;
  severity: string;
  /** `key=value`: an attribute that must have that value. */
  attribute: string;
  range: string;
}

/** The conditions of a search, as SQL. */
function conditions(filters: LogFilters): string {
  const range = RANGES[filters.range] ?? RANGES["1h"];
  const parts = [`timestamp > now() - INTERVAL '${range.interval}'`];
  if (filters.text) parts.push(`strpos(lower(body), lower(${literal(filters.text)})) > 0`);
  if (filters.service) parts.push(`service_name = ${literal(filters.service)}`);
  const severity = SEVERITIES[filters.severity] ?? 0;
  if (severity > 0) parts.push(`severity_number >= ${severity}`);
  const [key, ...value] = filters.attribute.split("=");
  if (key && value.length > 0) parts.push(`attributes[${literal(key.trim())}] = ${literal(value.join("=").trim())}`);
  return parts.join(" AND ");
}

/** The query of a search: the newest matching records first, one page of them. */
export function logsQuery(filters: LogFilters): string {
  return (
    "SELECT timestamp, service_name, severity_text, body, trace_id FROM logs " +
    `WHERE ${conditions(filters)} ORDER BY timestamp DESC LIMIT ${PAGE_ROWS}`
  );
}

/** The query of the histogram: matching records per bar, bars as seconds since the epoch. */
export function histogramQuery(filters: LogFilters): string {
  const { bucket } = RANGES[filters.range] ?? RANGES["1h"];
  return (
    `SELECT CAST(date_bin(INTERVAL '${bucket}', timestamp) AS BIGINT) / 1000000000 AS t, count(*) AS n ` +
    `FROM logs WHERE ${conditions(filters)} GROUP BY 1 ORDER BY 1`
  );
}

/** Matching records per bar, every bar of the searched range drawn (empty ones as 0). */
function Histogram({ counts, range }: { counts: SqlResult; range: (typeof RANGES)[string] }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    // `date_bin` counts bars from the epoch, so bars start at multiples of their width.
    const width = range.bucketSeconds;
    const now = Date.now() / 1000;
    const byBar = new Map(counts.rows.map((row) => [Number(row[0]), Number(row[1])]));
    const bars: number[] = [];
    for (let t = Math.floor((now - range.seconds) / width) * width; t <= now; t += width) bars.push(t);
    const data: uPlot.AlignedData = [bars, bars.map((t) => byBar.get(t) ?? 0)];
    const plot = new uPlot(
      {
        width: element.clientWidth || 800,
        height: 120,
        legend: { show: false },
        series: [
          {},
          { label: "records", fill: "#3d6bc4", stroke: "#3d6bc4", points: { show: false }, paths: uPlot.paths.bars?.({ size: [0.8] }) },
        ],
      },
      data,
      element,
    );
    return () => plot.destroy();
  }, [counts, range]);
  return <div className="histogram" ref={container} />;
}

export function Logs() {
  const [filters, setFilters] = useState<LogFilters>({ text: "", service: "", severity: "any", attribute: "", range: "1h" });
  const [result, setResult] = useState<SqlResult | null>(null);
  const [counts, setCounts] = useState<SqlResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const set = (key: keyof LogFilters) => (event: { target: { value: string } }) =>
    setFilters((current) => ({ ...current, [key]: event.target.value }));

  const [tail, setTail] = useState(false);

  async function search(event?: FormEvent) {
    event?.preventDefault();
    setError(null);
    try {
      const [records, histogram] = await Promise.all([sql(logsQuery(filters)), sql(histogramQuery(filters))]);
      setResult(records);
      setCounts(histogram);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  // Live tail: the search again every few seconds, with the filters of the moment, newest records first.
  const latestSearch = useRef(search);
  latestSearch.current = search;
  useEffect(() => {
    if (!tail) return;
    latestSearch.current();
    const timer = setInterval(() => latestSearch.current(), TAIL_MS);
    return () => clearInterval(timer);
  }, [tail]);

  return (
    <section>
      <form className="search" onSubmit={search}>
        <input name="text" placeholder="Search in log bodies" value={filters.text} onChange={set("text")} />
        <input name="service" placeholder="Service" value={filters.service} onChange={set("service")} />
        <input name="attribute" placeholder="attribute=value" value={filters.attribute} onChange={set("attribute")} />
        <select name="severity" value={filters.severity} onChange={set("severity")}>
          {Object.keys(SEVERITIES).map((key) => (
            <option key={key} value={key}>
              {key === "any" ? "Any severity" : `${key} and above`}
            </option>
          ))}
        </select>
        <select name="range" value={filters.range} onChange={set("range")}>
          {Object.keys(RANGES).map((key) => (
            <option key={key} value={key}>
              Last {key}
            </option>
          ))}
        </select>
        <button type="submit">Search</button>
        <label>
          <input type="checkbox" name="tail" checked={tail} onChange={(e) => setTail(e.target.checked)} /> Live tail
        </label>
      </form>
      {error && <p className="error">{error}</p>}
      {counts && <Histogram counts={counts} range={RANGES[filters.range] ?? RANGES["1h"]} />}
      {result && (
        <table className="logs">
          <thead>
            <tr>
              <th>Time</th>
              <th>Service</th>
              <th>Severity</th>
              <th>Body</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {result.rows.map((row, i) => (
              <tr key={i}>
                {/* Telemetry is rendered as text, never as HTML. */}
                <td>{String(row[0] ?? "")}</td>
                <td>{String(row[1] ?? "")}</td>
                <td>{String(row[2] ?? "")}</td>
                <td className="body">{String(row[3] ?? "")}</td>
                <td>{row[4] ? <a href={`#traces/${encodeURIComponent(String(row[4]))}`}>trace</a> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result && (
        <p className="count">
          {result.rows.length} records{result.rows.length === PAGE_ROWS || result.truncated ? ", newest first; narrow the search for older ones" : ""}
        </p>
      )}
    </section>
  );
}
