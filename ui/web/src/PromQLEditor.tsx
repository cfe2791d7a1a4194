import { autocompletion, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";
import { useEffect, useRef } from "react";

/** The Prometheus project's own PromQL mode: highlighting, linting, and completion of metric names, labels and
 * values from this server's Prometheus API (same origin, GET, so no CSRF token is needed). */
const promql = new PromQLExtension().setComplete({ remote: { url: "", httpMethod: "GET" } });

/** The page's Content-Security-Policy nonce, which CodeMirror puts on the style elements it creates. */
function cspNonce(): string {
  return document.querySelector<HTMLMetaElement>("meta[property=csp-nonce]")?.nonce ?? "";
}

export function PromQLEditor({
  value,
  onChange,
  onSubmit,
}: {
  value: string;
  onChange: (value: string) => void;
  onSubmit: () => void;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorView | null>(null);
  // The editor lives as long as the component; the callbacks it calls are the latest ones.
  const callbacks = useRef({ onChange, onSubmit });
  callbacks.current = { onChange, onSubmit };

  useEffect(() => {
    if (!parent.current) return;
    const view = new EditorView({
      parent: parent.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          EditorView.cspNonce.of(cspNonce()),
          history(),
          autocompletion(),
          // Enter runs the query; an open completion list takes Enter first (its keymap has precedence).
          keymap.of([
            {
              key: "Enter",
              run: () => {
                callbacks.current.onSubmit();
                return true;
              },
            },
            ...defaultKeymap,
            ...historyKeymap,
            ...completionKeymap,
          ]),
          promql.asExtension(),
          placeholder("PromQL, e.g. sum by (job) (rate(http_server_request_duration_seconds_count[5m]))"),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) callbacks.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    editor.current = view;
    return () => view.destroy();
    // Created once: later values come from the editor itself, or from the page (below).
  }, []);

  // A value the page sets (the metric browser) replaces the text; what was typed is already the value.
  useEffect(() => {
    const view = editor.current;
    if (view && view.state.doc.toString() !== value) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
    }
  }, [value]);

  return <div className="promql-editor" ref={parent} />;
}
