import { type FormEvent, useState } from "react";
import { literal, sql, type SqlResult } from "../api";

const RANGES: Record<string, string> = {
  "15m": "15 minutes",
  "1h": "1 hour",
  "24h": "24 hours",
  "7d": "7 days",
  "30d": "30 days",
};
const PAGE_ROWS = 200;

/** The query of a search: the newest matching records first, one page of them. */
export function logsQuery(text: string, service: string, range: string): string {
  const conditions = [`timestamp > now() - INTERVAL '${RANGES[range] ?? RANGES["1h"]}'`];
  if (text) conditions.push(`strpos(lower(body), lower(${literal(text)})) > 0`);
  if (service) conditions.push(`service_name = ${literal(service)}`);
  return (
    "SELECT timestamp, service_name, severity_text, body, trace_id FROM logs " +
    `WHERE ${conditions.join(" AND ")} ORDER BY timestamp DESC LIMIT ${PAGE_ROWS}`
  );
}

export function Logs() {
  const [text, setText] = useState("");
  const [service, setService] = useState("");
  const [range, setRange] = useState("1h");
  const [result, setResult] = useState<SqlResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function search(event?: FormEvent) {
    event?.preventDefault();
    setError(null);
    try {
      setResult(await sql(logsQuery(text, service, range)));
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <section>
      <form className="search" onSubmit={search}>
        <input name="text" placeholder="Search in log bodies" value={text} onChange={(e) => setText(e.target.value)} />
        <input name="service" placeholder="Service" value={service} onChange={(e) => setService(e.target.value)} />
        <select name="range" value={range} onChange={(e) => setRange(e.target.value)}>
          {Object.keys(RANGES).map((key) => (
            <option key={key} value={key}>
              Last {key}
            </option>
          ))}
        </select>
        <button type="submit">Search</button>
      </form>
      {error && <p className="error">{error}</p>}
      {result && (
        <table className="logs">
          <thead>
            <tr>
              <th>Time</th>
              <th>Service</th>
              <th>Severity</th>
              <th>Body</th>
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
