import { useEffect, useState } from "react";
import { alerts, mayEdit, silence, type Alert, type Me } from "../api";

const SILENCE_HOURS = 2;

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(", ");
}

export function Alerts({ user }: { user: Me }) {
  const [list, setList] = useState<Alert[] | null>(null);
  const [silenced, setSilenced] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    alerts().then(setList, (e: Error) => setError(e.message));
  }, []);

  async function silenceAlert(alert: Alert) {
    const key = labelText(alert.labels);
    try {
      const id = await silence(alert.labels, SILENCE_HOURS, user.name);
      setSilenced((done) => ({ ...done, [key]: id }));
    } catch (e) {
      setError((e as Error).message);
    }
  }

  if (!list) return error ? <p className="error">{error}</p> : null;
  return (
    <section>
      {error && <p className="error">{error}</p>}
      {list.length === 0 && <p>No alert is pending or firing.</p>}
      {list.length > 0 && (
        <table className="logs alerts">
          <thead>
            <tr>
              <th>Alert</th>
              <th>State</th>
              <th>Since</th>
              <th>Labels</th>
              <th>Summary</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((alert) => {
              const key = labelText(alert.labels);
              return (
                <tr key={key} className={alert.state === "firing" ? "failed" : undefined}>
                  <td>{alert.labels.alertname ?? ""}</td>
                  <td>{alert.state}</td>
                  <td>{alert.activeAt}</td>
                  <td>{key}</td>
                  <td>{alert.annotations.summary ?? ""}</td>
                  <td>
                    {silenced[key] ? (
                      <span className="silenced">Silenced for {SILENCE_HOURS} h</span>
                    ) : (
                      mayEdit(user) && (
                        <button type="button" onClick={() => silenceAlert(alert)}>
                          Silence {SILENCE_HOURS} h
                        </button>
                      )
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
