import { type FormEvent, type KeyboardEvent, useState } from "react";
import { sql, type SqlResult } from "../api";

const EXAMPLE =
  "SELECT service_name, count(*) AS errors FROM logs\nWHERE severity_number >= 17 AND timestamp > now() - INTERVAL '1 hour'\nGROUP BY service_name ORDER BY errors DESC";

/** A value of a result cell as text: maps, lists and structs as JSON. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export function Sql() {
  const [query, setQuery] = useState(EXAMPLE);
  const [result, setResult] = useState<SqlResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(event?: FormEvent) {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(await sql(query));
    } catch (e) {
      setResult(null);
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  function keys(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) run();
  }

  return (
    <section>
      <form className="sql" onSubmit={run}>
        <textarea name="sql" rows={6} spellCheck={false} value={query} onChange={(e) => setQuery(e.target.value)} onKeyDown={keys} />
        <button type="submit" disabled={busy}>
          Run (Ctrl+Enter)
        </button>
      </form>
      {error && <p className="error">{error}</p>}
      {result && (
        <>
          <table className="logs sql-result">
            <thead>
              <tr>
                {result.columns.map((column) => (
                  <th key={column.name} title={column.type}>
                    {column.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {result.rows.map((row, i) => (
                <tr key={i}>
                  {row.map((value, j) => (
                    <td key={j}>{cell(value)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <p className="count">
            {result.rows.length} rows{result.truncated ? ", cut at the server's row limit" : ""}
          </p>
        </>
      )}
    </section>
  );
}
