import { useState, type FormEvent } from "react";
import { createUser, deleteUser, listOf, ROLES, updateUser, users, type Role, type User } from "../../api";
import { useEditableList } from "../../useEditableList";

/** Users: create one, change a role or service scopes, reset a password, delete. */
export function Users({ onChange }: { onChange: () => void }) {
  const { list, error, change } = useEditableList(users, onChange);

  function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    void change(async () => {
      await createUser({
        name: String(data.get("name")),
        password: String(data.get("password")),
        role: String(data.get("role")) as Role,
        scopes: listOf(String(data.get("scopes"))),
      });
      form.reset();
    });
  }

  return (
    <section className="users">
      <h2>Users</h2>
      {error && <p className="error">{error}</p>}
      <form className="search new-user" onSubmit={create}>
        <input name="name" placeholder="name" aria-label="new user's name" required />
        <input name="password" type="password" placeholder="password (12+ characters)" aria-label="new user's password" required />
        <select name="role" aria-label="new user's role" defaultValue="viewer">
          {ROLES.map((role) => (
            <option key={role}>{role}</option>
          ))}
        </select>
        <input name="scopes" placeholder="services, e.g. checkout-*, api (empty: every service)" aria-label="new user's services" />
        <button type="submit">Create user</button>
      </form>
      <table className="logs users">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Own service scopes (empty: every service, or their teams')</th>
            <th>New password</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list?.map((user) => (
            <UserRow key={user.name} user={user} change={change} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function UserRow({ user, change }: { user: User; change: (action: () => Promise<unknown>) => Promise<void> }) {
  const [role, setRole] = useState<Role>(user.role);
  const [scopes, setScopes] = useState(user.scopes.join(", "));
  const [password, setPassword] = useState("");
  const edited = role !== user.role || scopes !== user.scopes.join(", ") || password !== "";

  function save() {
    const update: { role?: Role; password?: string; scopes?: string[] } = {};
    if (role !== user.role) update.role = role;
    if (scopes !== user.scopes.join(", ")) update.scopes = listOf(scopes);
    if (password !== "") update.password = password;
    void change(async () => {
      await updateUser(user.name, update);
      setPassword("");
    });
  }

  return (
    <tr data-user={user.name}>
      <td>{user.name}</td>
      <td>
        <select value={role} aria-label={`role of ${user.name}`} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </td>
      <td>
        <input value={scopes} aria-label={`services of ${user.name}`} onChange={(e) => setScopes(e.target.value)} />
      </td>
      <td>
        <input
          type="password"
          value={password}
          aria-label={`new password of ${user.name}`}
          onChange={(e) => setPassword(e.target.value)}
        />
      </td>
      <td>
        <button type="button" disabled={!edited} onClick={save}>
          Save
        </button>{" "}
        <button
          type="button"
          onClick={() => window.confirm(`Delete user ${user.name}?`) && void change(() => deleteUser(user.name))}
        >
          Delete
        </button>
      </td>
    </tr>
  );
}
