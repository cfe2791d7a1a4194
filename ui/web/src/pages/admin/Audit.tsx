import { useEffect, useState } from "react";
import { auditLog, timeText, type AuditEntry } from "../../api";

/** The audit log, newest first, 100 entries at a time; read anew when `revision` changes. */
export function Audit({ revision }: { revision: number }) {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [complete, setComplete] = useState(false);
  const [error, setError] = useState<string | null>(null);

  function more(before?: number) {
    auditLog(before).then(
      (page) => {
        setEntries((shown) => (before === undefined ? page : [...shown, ...page]));
        setComplete(page.length < 100);
      },
      (e: Error) => setError(e.message),
    );
  }
  useEffect(() => more(), [revision]);

  return (
    <section>
      <h2>Audit log</h2>
      {error && <p className="error">{error}</p>}
      <table className="logs audit">
        <thead>
          <tr>
            <th>Time</th>
            <th>Who</th>
            <th>What</th>
            <th>To</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.id}>
              <td>{timeText(entry.at)}</td>
              <td>{entry.actor}</td>
              <td>{entry.action}</td>
              <td>{entry.target ?? ""}</td>
              <td>{entry.detail ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!complete && entries.length > 0 && (
        <button type="button" onClick={() => more(entries[entries.length - 1].id)}>
          Older entries
        </button>
      )}
    </section>
  );
}
