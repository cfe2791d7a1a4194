import { useCallback, useEffect, useState, type FormEvent } from "react";
import { changePassword, createToken, ownTokens, revokeOwnToken, ROLES, type ApiToken, type Me, type Role } from "../api";
import { TokenTable } from "./admin/Tokens";

/** The signed-in user's password and API tokens. */
export function Account({ user }: { user: Me }) {
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    ownTokens().then(setTokens, (e: Error) => setError(e.message));
  }, []);
  useEffect(load, [load]);

  /** Runs a change and says how it went. */
  async function run(action: () => Promise<void>) {
    try {
      setError(null);
      setMessage(null);
      await action();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  function newToken(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    void run(async () => {
      const token = await createToken(String(data.get("name")), String(data.get("role")) as Role, String(data.get("expires")));
      setCreated(token.token);
      form.reset();
      load();
    });
  }

  function newPassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    if (data.get("password") !== data.get("again")) {
      setError("The two new passwords differ.");
      return;
    }
    void run(async () => {
      await changePassword(String(data.get("current")), String(data.get("password")));
      form.reset();
      setMessage("Password changed; your other sessions have ended.");
    });
  }

  const grantable = ROLES.slice(0, ROLES.indexOf(user.role) + 1);
  return (
    <section className="account">
      {error && <p className="error">{error}</p>}
      {message && <p className="message">{message}</p>}
      <h2>API tokens</h2>
      <form className="search new-token" onSubmit={newToken}>
        <input name="name" placeholder="what the token is for" aria-label="token name" required />
        <select name="role" aria-label="token role" defaultValue={user.role}>
          {grantable.map((role) => (
            <option key={role}>{role}</option>
          ))}
        </select>
        <select name="expires" aria-label="token expiry" defaultValue="90d">
          <option value="1d">1 day</option>
          <option value="30d">30 days</option>
          <option value="90d">90 days</option>
          <option value="365d">1 year</option>
          <option value="never">never</option>
        </select>
        <button type="submit">Create token</button>
      </form>
      {created && (
        <p className="created-token">
          Your new token, shown only this once: <code>{created}</code>
        </p>
      )}
      {tokens && (
        <TokenTable
          tokens={tokens}
          showUser={false}
          revoke={(token) => void run(async () => {
            await revokeOwnToken(token.id);
            load();
          })}
        />
      )}
      <h2>Password</h2>
      <form className="login password" onSubmit={newPassword}>
        <label>
          Current password
          <input name="current" type="password" autoComplete="current-password" required />
        </label>
        <label>
          New password (12 characters or more)
          <input name="password" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        <label>
          New password again
          <input name="again" type="password" autoComplete="new-password" required />
        </label>
        <button type="submit">Change password</button>
      </form>
    </section>
  );
}
