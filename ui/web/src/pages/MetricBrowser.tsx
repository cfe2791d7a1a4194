import { useEffect, useMemo, useState } from "react";
import { labelValues, seriesOf } from "../api";

/** How many names and values are listed at once: the filter narrows longer lists. */
const SHOWN = 200;

/** A selector for `metric` with one label matcher, as PromQL writes it. */
export function selector(metric: string, label?: string, value?: string): string {
  if (label === undefined || value === undefined) return metric;
  const escaped = value.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
  return `${metric}{${label}="${escaped}"}`;
}

/** The metric names the user may read, filtered as they type; a chosen metric shows its labels and their
 * values over the last hour. Choosing a name or a value puts its selector in the editor and runs it. */
export function MetricBrowser({ choose }: { choose: (query: string) => void }) {
  const [names, setNames] = useState<string[] | null>(null);
  const [filter, setFilter] = useState("");
  const [metric, setMetric] = useState<string | null>(null);
  const [labels, setLabels] = useState<Map<string, string[]> | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    labelValues("__name__").then(setNames, (e: Error) => setError(e.message));
  }, []);

  const shown = useMemo(() => {
    const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
    return (names ?? []).filter((name) => words.every((word) => name.toLowerCase().includes(word)));
  }, [names, filter]);

  function open(name: string) {
    setMetric(name);
    setLabels(null);
    choose(name);
    seriesOf(name, 3600).then(
      (series) => {
        const values = new Map<string, Set<string>>();
        for (const labelSet of series) {
          for (const [label, value] of Object.entries(labelSet)) {
            if (label === "__name__") continue;
            if (!values.has(label)) values.set(label, new Set());
            values.get(label)?.add(value);
          }
        }
        const sorted = [...values.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([label, set]): [string, string[]] => [label, [...set].sort()]);
        setLabels(new Map(sorted));
      },
      (e: Error) => setError(e.message),
    );
  }

  return (
    <aside className="metric-browser">
      <input
        value={filter}
        placeholder="Find a metric"
        aria-label="find a metric"
        onChange={(e) => setFilter(e.target.value)}
      />
      {error && <p className="error">{error}</p>}
      {names && shown.length === 0 && <p>No metric matches.</p>}
      <ul className="metric-names">
        {shown.slice(0, SHOWN).map((name) => (
          <li key={name} aria-current={name === metric ? "true" : undefined}>
            <button type="button" className="link" onClick={() => open(name)}>
              {name}
            </button>
          </li>
        ))}
      </ul>
      {shown.length > SHOWN && <p>{shown.length - SHOWN} more: narrow the search.</p>}
      {metric && labels && (
        <dl className="metric-labels" data-metric={metric}>
          {[...labels.entries()].map(([label, values]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>
                {values.slice(0, SHOWN).map((value) => (
                  <button
                    type="button"
                    key={value}
                    className="label-value"
                    onClick={() => choose(selector(metric, label, value))}
                  >
                    {value}
                  </button>
                ))}
              </dd>
            </div>
          ))}
        </dl>
      )}
    </aside>
  );
}
