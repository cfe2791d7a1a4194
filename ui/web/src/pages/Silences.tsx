import { useCallback, useEffect, useState } from "react";
import { expireSilence, mayEdit, notificationError, silences, type Me, type Silence } from "../api";

const ORDER = { active: 0, pending: 1, expired: 2 };

function matcherText(silence: Silence): string {
  return silence.matchers
    .map(({ name, value, isRegex, isEqual }) => `${name}${isEqual ? "" : "!"}${isRegex ? "=~" : "="}"${value}"`)
    .join(", ");
}

export function Silences({ user }: { user: Me }) {
  const [list, setList] = useState<Silence[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    silences().then(
      (found) => setList([...found].sort((a, b) => ORDER[a.status.state] - ORDER[b.status.state])),
      (e) => setError(notificationError(e)),
    );
  }, []);
  useEffect(load, [load]);

  async function expire(id: string) {
    try {
      await expireSilence(id);
      load();
    } catch (e) {
      setError(notificationError(e));
    }
  }

  if (error) return <p className="error">{error}</p>;
  if (!list) return null;
  if (list.length === 0) return <p>No silences.</p>;
  return (
    <table className="logs silences">
      <thead>
        <tr>
          <th>State</th>
          <th>Matchers</th>
          <th>Ends</th>
          <th>Created by</th>
          <th>Comment</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {list.map((silence) => (
          <tr key={silence.id} className={silence.status.state}>
            <td>{silence.status.state}</td>
            <td>{matcherText(silence)}</td>
            <td>{silence.endsAt}</td>
            <td>{silence.createdBy}</td>
            <td>{silence.comment}</td>
            <td>
              {mayEdit(user) && silence.status.state !== "expired" && (
                <button type="button" onClick={() => expire(silence.id)}>
                  Expire
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
