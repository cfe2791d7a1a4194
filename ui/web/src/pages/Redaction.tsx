import { useEffect, useState } from "react";
import { redaction, type RedactionRule } from "../api";

const KINDS = {
  key: "whole values of matching keys",
  value: "matches inside any text",
  sql_literals: "literals of SQL statements",
  allow_list: "every key not listed",
};

/** The redaction rules in force, in order of precedence, with what each redacted since the daemon started. */
export function Redaction() {
  const [rules, setRules] = useState<RedactionRule[] | null>(null);
  const [enabled, setEnabled] = useState(true);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    redaction().then(
      (found) => {
        setEnabled(found.enabled);
        setRules(found.rules);
      },
      (e: Error) => setError(e.message),
    );
  }, []);

  if (error) return <p className="error">{error}</p>;
  if (!rules) return null;
  if (!enabled) return <p className="error">Redaction is off: telemetry is stored as services send it.</p>;
  return (
    <section>
      <p>Values redacted since the daemon started, by rule. No redacted value is ever kept or shown.</p>
      <table className="logs redaction">
        <thead>
          <tr>
            <th>Rule</th>
            <th>Acts on</th>
            <th>Action</th>
            <th>Matches</th>
            <th>Where</th>
            <th>Logs</th>
            <th>Spans</th>
            <th>Metrics</th>
          </tr>
        </thead>
        <tbody>
          {rules.map((rule) => (
            <tr key={rule.name} data-rule={rule.name}>
              <td>
                {rule.name}
                {rule.builtin && <small> (built-in)</small>}
              </td>
              <td>{KINDS[rule.kind]}</td>
              <td>{rule.action}</td>
              <td className="body">{rule.matches.join(" ")}</td>
              <td>
                {rule.signals.length === 0 ? "every signal" : rule.signals.join(", ")};{" "}
                {rule.services.length === 0 ? "every service" : rule.services.join(", ")}
              </td>
              <td className="count">{rule.redacted.logs}</td>
              <td className="count">{rule.redacted.traces}</td>
              <td className="count">{rule.redacted.metrics}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
