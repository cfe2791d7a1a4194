import { type FormEvent, useEffect, useState } from "react";
import { literal, sql } from "../api";

interface SpanRow {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  service: string;
  kind: string;
  startUs: number;
  durationNs: number;
  status: string;
  statusMessage: string;
  attributes: Record<string, string>;
}

const SPAN_COLUMNS =
  "trace_id, span_id, parent_span_id, name, service_name, kind, CAST(start_time AS BIGINT) / 1000 AS start_us, " +
  "duration_ns, status_code, status_message, attributes";

function spanOf(row: unknown[]): SpanRow {
  return {
    traceId: String(row[0]),
    spanId: String(row[1]),
    parentSpanId: row[2] ? String(row[2]) : null,
    name: String(row[3] ?? ""),
    service: String(row[4] ?? ""),
    kind: String(row[5] ?? ""),
    startUs: Number(row[6]),
    durationNs: Number(row[7]),
    status: String(row[8] ?? ""),
    statusMessage: String(row[9] ?? ""),
    attributes: (row[10] as Record<string, string> | null) ?? {},
  };
}

function milliseconds(durationNs: number): string {
  return `${(durationNs / 1e6).toFixed(durationNs < 1e7 ? 2 : 0)} ms`;
}

/** The query of a search: the newest matching spans, each the entry to its trace. */
export function tracesQuery(service: string, operation: string, minMs: string, errorsOnly: boolean): string {
  const conditions = ["start_time > now() - INTERVAL '1 hour'"];
  if (service) conditions.push(`service_name = ${literal(service)}`);
  if (operation) conditions.push(`name = ${literal(operation)}`);
  const min = Number(minMs);
  if (minMs && Number.isFinite(min)) conditions.push(`duration_ns >= ${Math.round(min * 1e6)}`);
  if (errorsOnly) conditions.push("status_code = 'ERROR'");
  return `SELECT ${SPAN_COLUMNS} FROM spans WHERE ${conditions.join(" AND ")} ORDER BY start_time DESC LIMIT 100`;
}

export function Traces({ traceId }: { traceId: string | null }) {
  return traceId ? <Waterfall traceId={traceId} /> : <TraceSearch />;
}

function TraceSearch() {
  const [service, setService] = useState("");
  const [operation, setOperation] = useState("");
  const [minMs, setMinMs] = useState("");
  const [errorsOnly, setErrorsOnly] = useState(false);
  const [spans, setSpans] = useState<SpanRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function search(event?: FormEvent) {
    event?.preventDefault();
    setError(null);
    try {
      const result = await sql(tracesQuery(service, operation, minMs, errorsOnly));
      setSpans(result.rows.map(spanOf));
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <section>
      <form className="search" onSubmit={search}>
        <input name="service" placeholder="Service" value={service} onChange={(e) => setService(e.target.value)} />
        <input name="operation" placeholder="Operation" value={operation} onChange={(e) => setOperation(e.target.value)} />
        <input name="min" placeholder="Min duration (ms)" value={minMs} onChange={(e) => setMinMs(e.target.value)} />
        <label>
          <input type="checkbox" checked={errorsOnly} onChange={(e) => setErrorsOnly(e.target.checked)} /> Errors only
        </label>
        <button type="submit">Search</button>
      </form>
      {error && <p className="error">{error}</p>}
      {spans && (
        <table className="logs">
          <thead>
            <tr>
              <th>Trace</th>
              <th>Service</th>
              <th>Operation</th>
              <th>Duration</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {spans.map((span) => (
              <tr key={span.spanId} className={span.status === "ERROR" ? "failed" : undefined}>
                <td>
                  <a href={`#traces/${encodeURIComponent(span.traceId)}`}>{span.traceId.slice(0, 16)}</a>
                </td>
                <td>{span.service}</td>
                <td>{span.name}</td>
                <td>{milliseconds(span.durationNs)}</td>
                <td>{span.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The spans of a trace in tree order (each after its parent), with their depth. */
function treeOrder(spans: SpanRow[]): [SpanRow, number][] {
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map<string | null, SpanRow[]>();
  for (const span of spans) {
    // A span whose parent is not in the trace (not received yet, or in another trace) is shown as a root.
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : null;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const ordered: [SpanRow, number][] = [];
  const visit = (parent: string | null, depth: number) => {
    for (const span of (children.get(parent) ?? []).sort((a, b) => a.startUs - b.startUs)) {
      ordered.push([span, depth]);
      visit(span.spanId, depth + 1);
    }
  };
  visit(null, 0);
  return ordered;
}

function Waterfall({ traceId }: { traceId: string }) {
  const [spans, setSpans] = useState<SpanRow[] | null>(null);
  const [selected, setSelected] = useState<SpanRow | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    sql(`SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id = ${literal(traceId)} ORDER BY start_time LIMIT 10000`).then(
      (result) => setSpans(result.rows.map(spanOf)),
      (e: Error) => setError(e.message),
    );
  }, [traceId]);

  if (error) return <p className="error">{error}</p>;
  if (!spans) return null;
  if (spans.length === 0) return <p>No spans of trace {traceId} in the store.</p>;
  const start = Math.min(...spans.map((span) => span.startUs));
  const end = Math.max(...spans.map((span) => span.startUs + span.durationNs / 1000));
  const total = Math.max(end - start, 1);
  return (
    <section>
      <p>
        <a href="#traces">Traces</a> / trace {traceId}: {spans.length} spans over {milliseconds(total * 1000)}
      </p>
      <div className="waterfall" role="table">
        {treeOrder(spans).map(([span, depth]) => (
          <div
            key={span.spanId}
            role="row"
            className={`span${span.status === "ERROR" ? " failed" : ""}${span === selected ? " selected" : ""}`}
            onClick={() => setSelected(span)}
          >
            <span className="label" style={{ paddingLeft: `${depth}rem` }}>
              {span.service}: {span.name}
            </span>
            <span className="lane">
              <span
                className="bar"
                style={{
                  left: `${((span.startUs - start) / total) * 100}%`,
                  width: `${Math.max((span.durationNs / 1000 / total) * 100, 0.2)}%`,
                }}
              />
            </span>
            <span className="duration">{milliseconds(span.durationNs)}</span>
          </div>
        ))}
      </div>
      {selected && (
        <table className="attributes">
          <caption>
            {selected.service}: {selected.name} ({selected.kind}, {selected.status}
            {selected.statusMessage ? `: ${selected.statusMessage}` : ""})
          </caption>
          <tbody>
            {Object.entries(selected.attributes).map(([key, value]) => (
              <tr key={key}>
                <th>{key}</th>
                <td>{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
