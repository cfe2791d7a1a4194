import { Fragment, useEffect, useState } from "react";
import { rules, type Rule, type RuleGroup } from "../api";

/** The rule groups with each rule's state, health, last evaluations and errors, and the rule files that fail
 * to load (whose last good version keeps running). */
export function Rules() {
  const [groups, setGroups] = useState<RuleGroup[] | null>(null);
  const [loadErrors, setLoadErrors] = useState<{ file: string; errors: string[] }[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    rules().then(
      (found) => {
        setGroups(found.groups);
        setLoadErrors(found.loadErrors);
      },
      (e: Error) => setError(e.message),
    );
  }, []);

  if (error) return <p className="error">{error}</p>;
  if (!groups) return null;
  return (
    <section className="rules">
      {loadErrors.map(({ file, errors }) => (
        <p key={file} className="error">
          {file} does not load (its last good version keeps running): {errors.join("; ")}
        </p>
      ))}
      {groups.length === 0 && <p>No rules are loaded.</p>}
      {groups.map((group) => (
        <Fragment key={`${group.file}/${group.name}`}>
          <h2>
            {group.name} <small>({group.file}, every {group.interval} s)</small>
          </h2>
          <table className="logs rule-table">
            <thead>
              <tr>
                <th>Rule</th>
                <th>State</th>
                <th>Health</th>
                <th>Last evaluation</th>
                <th>Took</th>
                <th>Query</th>
              </tr>
            </thead>
            <tbody>
              {group.rules.map((rule) => {
                const key = `${group.file}/${group.name}/${rule.name}`;
                return (
                  <Fragment key={key}>
                    <tr
                      className={rule.health === "err" || rule.state === "firing" ? "failed" : undefined}
                      data-rule={rule.name}
                      onClick={() => setOpen(open === key ? null : key)}
                    >
                      <td>
                        <button type="button" className="link">
                          {rule.name}
                        </button>
                      </td>
                      <td>{rule.type === "alerting" ? rule.state : "recording"}</td>
                      <td>{rule.health === "err" ? `error: ${rule.lastError}` : rule.health}</td>
                      <td>{rule.lastEvaluation}</td>
                      <td>{milliseconds(rule.evaluationTime)}</td>
                      <td className="body">{rule.query}</td>
                    </tr>
                    {open === key && (
                      <tr>
                        <td colSpan={6}>
                          <History rule={rule} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </Fragment>
      ))}
    </section>
  );
}

function milliseconds(seconds: number): string {
  return `${(seconds * 1000).toFixed(1)} ms`;
}

/** A rule's recent evaluations, newest first. */
function History({ rule }: { rule: Rule }) {
  if (rule.evaluations.length === 0) return <p>Not evaluated yet.</p>;
  return (
    <table className="logs evaluations">
      <caption>Last evaluations of {rule.name}</caption>
      <thead>
        <tr>
          <th>Time</th>
          <th>Took</th>
          <th>Results</th>
          <th>Health</th>
        </tr>
      </thead>
      <tbody>
        {rule.evaluations.map((evaluation) => (
          <tr key={evaluation.time} className={evaluation.health === "err" ? "failed" : undefined}>
            <td>{evaluation.time}</td>
            <td>{milliseconds(evaluation.duration)}</td>
            <td>{evaluation.results ?? "–"}</td>
            <td>{evaluation.health === "err" ? `error: ${evaluation.error ?? ""}` : evaluation.health}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
