import { useCallback, useEffect, useState } from "react";
import { deadLetters, mayEdit, notificationError, receivers, replayDeadLetter, type DeadLetter, type Me } from "../api";

export function Notifications({ user }: { user: Me }) {
  const [names, setNames] = useState<string[] | null>(null);
  const [letters, setLetters] = useState<DeadLetter[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    Promise.all([receivers(), deadLetters()]).then(
      ([found, dead]) => {
        setNames(found);
        setLetters(dead);
      },
      (e) => setError(notificationError(e)),
    );
  }, []);
  useEffect(load, [load]);

  async function replay(id: number) {
    try {
      await replayDeadLetter(id);
      load();
    } catch (e) {
      setError(notificationError(e));
    }
  }

  if (error) return <p className="error">{error}</p>;
  if (!names || !letters) return null;
  return (
    <section>
      <p>Receivers: {names.join(", ")}</p>
      <h2>Dead letters</h2>
      {letters.length === 0 && <p>No dead letters: every notification was delivered or is still being tried.</p>}
      {letters.length > 0 && (
        <table className="logs dead-letters">
          <thead>
            <tr>
              <th>Created</th>
              <th>Receiver</th>
              <th>Integration</th>
              <th>Attempts</th>
              <th>Last error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {letters.map((letter) => (
              <tr key={letter.id}>
                <td>{letter.createdAt}</td>
                <td>{letter.receiver}</td>
                <td>{letter.integration}</td>
                <td>{letter.attempts}</td>
                <td>{letter.lastError ?? ""}</td>
                <td>
                  {mayEdit(user) && (
                    <button type="button" onClick={() => replay(letter.id)}>
                      Replay
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
