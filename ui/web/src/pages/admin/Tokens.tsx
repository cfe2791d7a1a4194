import { timeText, type ApiToken } from "../../api";

/** API tokens as a table, each with a button to revoke it. */
export function TokenTable({
  tokens,
  showUser,
  revoke,
}: {
  tokens: ApiToken[];
  showUser: boolean;
  revoke: (token: ApiToken) => void;
}) {
  if (tokens.length === 0) return <p>No API tokens.</p>;
  return (
    <table className="logs tokens">
      <thead>
        <tr>
          {showUser && <th>User</th>}
          <th>Name</th>
          <th>Role</th>
          <th>Created</th>
          <th>Expires</th>
          <th>Last used</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {tokens.map((token) => (
          <tr key={token.id} data-token={token.name}>
            {showUser && <td>{token.user}</td>}
            <td>{token.name}</td>
            <td>{token.role}</td>
            <td>{timeText(token.created_at)}</td>
            <td>{token.expires_at === null ? "never" : timeText(token.expires_at)}</td>
            <td>{timeText(token.last_used_at)}</td>
            <td>
              <button type="button" onClick={() => revoke(token)}>
                Revoke
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
