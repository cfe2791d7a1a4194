import { useState } from "react";
import { allTokens, revokeAnyToken, type ApiToken, type Me } from "../api";
import { Audit } from "./admin/Audit";
import { Teams } from "./admin/Teams";
import { TokenTable } from "./admin/Tokens";
import { Users } from "./admin/Users";
import { useEditableList } from "../useEditableList";

export function Admin({ user }: { user: Me }) {
  // Each change is audited: the audit log is read again after it.
  const [revision, setRevision] = useState(0);
  const changed = () => setRevision((count) => count + 1);
  // The server refuses these requests to anyone else; the page says so rather than show empty tables.
  if (user.role !== "admin") return <p className="error">The admin pages need the admin role.</p>;
  return (
    <>
      <Users onChange={changed} />
      <Teams onChange={changed} />
      <AllTokens onChange={changed} />
      <Audit revision={revision} />
    </>
  );
}

/** Every user's API tokens, to revoke one that leaked or is no longer used. */
function AllTokens({ onChange }: { onChange: () => void }) {
  const { list: tokens, error, change } = useEditableList(allTokens, onChange);

  function revoke(token: ApiToken) {
    if (window.confirm(`Revoke ${token.user}'s token ${token.name}?`)) void change(() => revokeAnyToken(token.id));
  }

  return (
    <section>
      <h2>API tokens</h2>
      {error && <p className="error">{error}</p>}
      {tokens && <TokenTable tokens={tokens} showUser revoke={revoke} />}
    </section>
  );
}
