import { lazy, Suspense, useEffect, useState } from "react";
import { logout, me, type Me } from "./api";
import { Account } from "./pages/Account";
import { Admin } from "./pages/Admin";
import { Alerts } from "./pages/Alerts";
import { Home } from "./pages/Home";
import { Login } from "./pages/Login";
import { Notifications } from "./pages/Notifications";
import { Redaction } from "./pages/Redaction";
import { Rules } from "./pages/Rules";
import { Silences } from "./pages/Silences";
import { Sql } from "./pages/Sql";
import { Traces } from "./pages/Traces";

// The pages with charts (uPlot) and the PromQL editor (CodeMirror) are loaded when first opened: they are most
// of the code, and the login and the other pages need none of it.
const Logs = lazy(() => import("./pages/Logs").then((module) => ({ default: module.Logs })));
const Metrics = lazy(() => import("./pages/Metrics").then((module) => ({ default: module.Metrics })));

/** The pages, by the first part of the location's hash (`#traces/<id>` is the traces page with a trace). */
const PAGES = {
  home: { title: "Home", adminOnly: false, render: () => <Home /> },
  logs: { title: "Logs", adminOnly: false, render: () => <Logs /> },
  traces: { title: "Traces", adminOnly: false, render: (_: Me, rest: string) => <Traces traceId={rest || null} /> },
  metrics: { title: "Metrics", adminOnly: false, render: () => <Metrics /> },
  sql: { title: "SQL", adminOnly: false, render: () => <Sql /> },
  alerts: { title: "Alerts", adminOnly: false, render: (user: Me) => <Alerts user={user} /> },
  rules: { title: "Rules", adminOnly: false, render: () => <Rules /> },
  silences: { title: "Silences", adminOnly: false, render: (user: Me) => <Silences user={user} /> },
  notifications: { title: "Notifications", adminOnly: false, render: (user: Me) => <Notifications user={user} /> },
  redaction: { title: "Redaction", adminOnly: false, render: () => <Redaction /> },
  admin: { title: "Admin", adminOnly: true, render: (user: Me) => <Admin user={user} /> },
  account: { title: "Account", adminOnly: false, render: (user: Me) => <Account user={user} /> },
} as const;
type Page = keyof typeof PAGES;

function currentLocation(): [Page, string] {
  const [page, ...rest] = window.location.hash.replace(/^#/, "").split("/");
  return [page in PAGES ? (page as Page) : "home", rest.join("/")];
}

export function App() {
  const [user, setUser] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [[page, rest], setLocation] = useState(currentLocation);

  useEffect(() => {
    me().then(setUser, (e: Error) => setError(e.message));
    const follow = () => setLocation(currentLocation());
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);

  if (error) return <p className="error">{error}</p>;
  if (user === undefined) return null;
  if (user === null) return <Login onLogin={setUser} />;
  return (
    <div className="shell">
      <header>
        <strong>sightline</strong>
        <nav>
          {Object.entries(PAGES)
            .filter(([, { adminOnly }]) => !adminOnly || user.role === "admin")
            .map(([key, { title }]) => (
              <a key={key} href={`#${key}`} aria-current={key === page ? "page" : undefined}>
                {title}
              </a>
            ))}
        </nav>
        <span className="who">
          {user.name} ({user.role})
        </span>
        <button type="button" onClick={() => logout().then(() => setUser(null))}>
          Log out
        </button>
      </header>
      <main>
        <Suspense fallback={<p>Loading…</p>}>{PAGES[page].render(user, rest)}</Suspense>
      </main>
    </div>
  );
}
