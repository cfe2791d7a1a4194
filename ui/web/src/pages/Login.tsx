import { type FormEvent, useEffect, useState } from "react";
import { login, singleSignOn, type Me } from "../api";

const SSO_ERROR = "#oidc-error=";

/** Why a single sign-on failed, as the server put it in the location's hash; the hash is then cleared. */
function singleSignOnError(): string | null {
  const hash = window.location.hash;
  if (!hash.startsWith(SSO_ERROR)) return null;
  window.history.replaceState(null, "", window.location.pathname);
  try {
    return decodeURIComponent(hash.slice(SSO_ERROR.length));
  } catch {
    return "single sign-on failed";
  }
}

export function Login({ onLogin }: { onLogin: (user: Me) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(singleSignOnError);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState<string | null>(null);

  useEffect(() => {
    singleSignOn().then((answer) => setSso(answer.enabled ? (answer.label ?? "Single sign-on") : null), () => setSso(null));
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLogin(await login(username, password));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="login" onSubmit={submit}>
      <h1>sightline</h1>
      <label>
        User name
        <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <button type="submit" disabled={busy}>
        Log in
      </button>
      {sso && (
        // A plain link: the server answers with a redirect to the identity provider.
        <a className="sso" href="/api/v1/auth/oidc/login">
          {sso}
        </a>
      )}
      {error && <p className="error">{error}</p>}
    </form>
  );
}
