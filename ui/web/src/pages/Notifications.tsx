import { useCallback, useEffect, useState } from "react";
import {
  deadLetters,
  deliveries,
  integrations,
  mayEdit,
  notificationError,
  receivers,
  replayDeadLetter,
  sendTestNotification,
  type DeadLetter,
  type Delivery,
  type IntegrationState,
  type Me,
  type TestOutcome,
} from "../api";

const PAGE = 50;

/** Receivers and their circuit breakers, the latest deliveries, and the dead letters to replay. */
export function Notifications({ user }: { user: Me }) {
  const [names, setNames] = useState<string[] | null>(null);
  const [states, setStates] = useState<Awaited<ReturnType<typeof integrations>> | null>(null);
  const [letters, setLetters] = useState<DeadLetter[] | null>(null);
  const [sent, setSent] = useState<Delivery[]>([]);
  const [complete, setComplete] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    Promise.all([receivers(), integrations(), deadLetters(), deliveries()]).then(
      ([found, state, dead, latest]) => {
        setNames(found);
        setStates(state);
        setLetters(dead);
        setSent(latest);
        setComplete(latest.length < PAGE);
      },
      (e) => setError(notificationError(e)),
    );
  }, []);
  useEffect(load, [load]);

  function older() {
    deliveries(sent[sent.length - 1].id).then((page) => {
      setSent((shown) => [...shown, ...page]);
      setComplete(page.length < PAGE);
    }, (e) => setError(notificationError(e)));
  }

  async function replay(id: number) {
    try {
      await replayDeadLetter(id);
      load();
    } catch (e) {
      setError(notificationError(e));
    }
  }

  if (error) return <p className="error">{error}</p>;
  if (!names || !letters || !states) return null;
  return (
    <section>
      <p>Receivers: {names.join(", ")}</p>
      {mayEdit(user) && names.length > 0 && <TestNotification receivers={names} />}
      <p>
        {states.pending} notifications waiting to be sent, {states.deadLetters} dead letters.
      </p>
      <Breakers list={states.integrations} />
      <h2>Latest deliveries</h2>
      {sent.length === 0 && <p>Nothing was sent yet.</p>}
      {sent.length > 0 && <Deliveries list={sent} />}
      {!complete && sent.length > 0 && (
        <button type="button" onClick={older}>
          Older deliveries
        </button>
      )}
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

function breakerText(state: IntegrationState): string {
  switch (state.breaker) {
    case "open":
      return `open until ${state.openUntil ?? "?"}`;
    case "half_open":
      return "half-open: one probe out";
    default:
      return state.consecutiveFailures > 0 ? `closed, ${state.consecutiveFailures} failures in a row` : "closed";
  }
}

function Breakers({ list }: { list: IntegrationState[] }) {
  if (list.length === 0) return null;
  return (
    <table className="logs integrations">
      <thead>
        <tr>
          <th>Receiver</th>
          <th>Integration</th>
          <th>Circuit breaker</th>
        </tr>
      </thead>
      <tbody>
        {list.map((state) => (
          <tr key={`${state.receiver}/${state.integration}`} className={state.breaker === "closed" ? undefined : "failed"}>
            <td>{state.receiver}</td>
            <td>{state.integration}</td>
            <td>{breakerText(state)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Deliveries({ list }: { list: Delivery[] }) {
  return (
    <table className="logs deliveries">
      <thead>
        <tr>
          <th>Created</th>
          <th>Status</th>
          <th>Receiver</th>
          <th>Integration</th>
          <th>Group</th>
          <th>Alerts</th>
          <th>Attempts</th>
          <th>Last error</th>
          <th>Done</th>
        </tr>
      </thead>
      <tbody>
        {list.map((delivery) => (
          <tr key={delivery.id} className={delivery.status === "dead" ? "failed" : undefined}>
            <td>{delivery.createdAt}</td>
            <td>{delivery.status === "pending" ? `pending, next ${delivery.nextAttemptAt ?? ""}` : delivery.status}</td>
            <td>{delivery.receiver}</td>
            <td>{delivery.integration}</td>
            <td>
              {Object.entries(delivery.groupLabels)
                .map(([name, value]) => `${name}="${value}"`)
                .join(", ")}
            </td>
            <td>
              {delivery.firing} firing, {delivery.resolved} resolved
            </td>
            <td>{delivery.attempts}</td>
            <td>{delivery.lastError ?? ""}</td>
            <td>{delivery.doneAt ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Sends the test notification to a receiver and shows what each of its integrations answered. */
function TestNotification({ receivers }: { receivers: string[] }) {
  const [receiver, setReceiver] = useState(receivers[0]);
  const [outcomes, setOutcomes] = useState<TestOutcome[] | null>(null);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function send() {
    setSending(true);
    setError(null);
    try {
      setOutcomes(await sendTestNotification(receiver));
    } catch (e) {
      setOutcomes(null);
      setError(notificationError(e));
    } finally {
      setSending(false);
    }
  }

  return (
    <div className="test-notification">
      <div className="search">
        <select value={receiver} aria-label="receiver to test" onChange={(e) => setReceiver(e.target.value)}>
          {receivers.map((name) => (
            <option key={name}>{name}</option>
          ))}
        </select>
        <button type="button" disabled={sending} onClick={send}>
          Send test notification
        </button>
      </div>
      {error && <p className="error">{error}</p>}
      {outcomes?.length === 0 && <p>{receiver} has no integration: nothing was sent.</p>}
      {outcomes && outcomes.length > 0 && (
        <ul className="test-outcomes">
          {outcomes.map((outcome) => (
            <li key={outcome.integration} className={outcome.delivered ? undefined : "error"}>
              {receiver} {outcome.integration}: {outcome.delivered ? "delivered" : `failed: ${outcome.error ?? ""}`}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
