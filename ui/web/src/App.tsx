import { useEffect, useState } from "react";
import { logout, me, type Me } from "./api";
import { Login } from "./pages/Login";
import { Logs } from "./pages/Logs";

export function App() {
  const [user, setUser] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    me().then(setUser, (e: Error) => setError(e.message));
  }, []);

  if (error) return <p className="error">{error}</p>;
  if (user === undefined) return null;
  if (user === null) return <Login onLogin={setUser} />;
  return (
    <div className="shell">
      <header>
        <strong>sightline</strong>
        <nav>
          <a href="#logs" aria-current="page">
            Logs
          </a>
        </nav>
        <span className="who">
          {user.name} ({user.role})
        </span>
        <button type="button" onClick={() => logout().then(() => setUser(null))}>
          Log out
        </button>
      </header>
      <main>
        <Logs />
      </main>
    </div>
  );
}
