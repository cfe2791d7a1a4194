import { useEffect, useState } from "react";
import { auditLog, users, type AuditEntry, type Me, type User } from "../api";

export function Admin({ user }: { user: Me }) {
  const [list, setList] = useState<User[] | null>(null);
  const [audit, setAudit] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (user.role !== "admin") return;
    Promise.all([users(), auditLog()]).then(
      ([found, entries]) => {
        setList(found);
        setAudit(entries);
      },
      (e: Error) => setError(e.message),
    );
  }, [user.role]);

  // The server refuses these requests to anyone else; the page says so rather than show empty tables.
  if (user.role !== "admin") return <p className="error">The admin pages need the admin role.</p>;
  if (error) return <p className="error">{error}</p>;
  return (
    <section>
      <h2>Users</h2>
      <table className="logs users">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Service scopes</th>
          </tr>
        </thead>
        <tbody>
          {list?.map((found) => (
            <tr key={found.name}>
              <td>{found.name}</td>
              <td>{found.role}</td>
              <td>{found.scopes.join(", ") || "every service"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Audit log</h2>
      <table className="logs audit">
        <thead>
          <tr>
            <th>Time</th>
            <th>Who</th>
            <th>What</th>
            <th>To</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {audit?.map((entry) => (
            <tr key={entry.id}>
              <td>{new Date(entry.at).toISOString()}</td>
              <td>{entry.actor}</td>
              <td>{entry.action}</td>
              <td>{entry.target ?? ""}</td>
              <td>{entry.detail ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
