import { useEffect, useState } from "react";
import { alerts, sql, type SqlResult } from "../api";

/** How often the ingest rates are measured. */
const REFRESH_MS = 5000;
const SIGNALS = ["logs", "traces", "metrics"];

/** The samples of a Prometheus text exposition: `name{labels} value` lines, comments skipped. */
export function parseExposition(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples = [];
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

interface Reading {
  at: number;
  accepted: Record<string, number>;
  storedBytes: number;
}

async function read(): Promise<Reading> {
  const response = await fetch("/metrics", { credentials: "same-origin" });
  const samples = parseExposition(await response.text());
  const accepted: Record<string, number> = {};
  let storedBytes = 0;
  for (const { name, labels, value } of samples) {
    if (name === "sightline_otlp_items_total" && labels.outcome === "accepted") {
      accepted[labels.signal] = (accepted[labels.signal] ?? 0) + value;
    }
    if (name === "sightline_storage_data_bytes" || name === "sightline_storage_buffer_bytes") storedBytes += value;
  }
  return { at: Date.now(), accepted, storedBytes };
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${n.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

const FAILING_SERVICES =
  "SELECT service_name, count(*) FILTER (WHERE status_code = 'ERROR') AS errors, count(*) AS spans " +
  "FROM spans WHERE start_time > now() - INTERVAL '1 hour' GROUP BY service_name " +
  "HAVING count(*) FILTER (WHERE status_code = 'ERROR') > 0 ORDER BY errors DESC LIMIT 10";

export function Home() {
  const [readings, setReadings] = useState<Reading[]>([]);
  const [firing, setFiring] = useState<number | null>(null);
  const [failing, setFailing] = useState<SqlResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const measure = () => read().then((reading) => setReadings((previous) => [...previous.slice(-1), reading]));
    measure();
    // A first rate a second after the page opens, then every few seconds.
    const first = setTimeout(measure, 1000);
    const timer = setInterval(measure, REFRESH_MS);
    // Users limited to some services count their services' alerts (the API shows them no other).
    alerts().then((list) => setFiring(list.filter((alert) => alert.state === "firing").length), () => setFiring(null));
    sql(FAILING_SERVICES).then(setFailing, (e: Error) => setError(e.message));
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, []);

  const [before, latest] = readings.length === 2 ? readings : [undefined, readings[0]];
  const rate = (signal: string) => {
    if (!before || !latest) return "…";
    const seconds = (latest.at - before.at) / 1000;
    const perSecond = ((latest.accepted[signal] ?? 0) - (before.accepted[signal] ?? 0)) / seconds;
    return `${perSecond.toFixed(perSecond < 10 ? 1 : 0)} /s`;
  };

  return (
    <section className="home">
      <div className="tiles">
        {SIGNALS.map((signal) => (
          <div className="tile" key={signal}>
            <span className="name">{signal} received</span>
            <span className="value">{rate(signal)}</span>
            <span className="total">{latest ? `${latest.accepted[signal] ?? 0} in all` : ""}</span>
          </div>
        ))}
        <div className="tile">
          <span className="name">stored</span>
          <span className="value">{latest ? bytes(latest.storedBytes) : "…"}</span>
        </div>
        <div className="tile">
          <span className="name">firing alerts</span>
          <span className="value">
            <a href="#alerts">{firing ?? "–"}</a>
          </span>
        </div>
      </div>
      <h2>Failing services, last hour</h2>
      {error && <p className="error">{error}</p>}
      {failing && failing.rows.length === 0 && <p>No span failed in the last hour.</p>}
      {failing && failing.rows.length > 0 && (
        <table className="logs failing">
          <thead>
            <tr>
              <th>Service</th>
              <th>Failed spans</th>
              <th>Spans</th>
            </tr>
          </thead>
          <tbody>
            {failing.rows.map((row) => (
              <tr key={String(row[0])}>
                <td>{String(row[0])}</td>
                <td>{String(row[1])}</td>
                <td>{String(row[2])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
