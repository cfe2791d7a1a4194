// A real OpenID Connect provider for the browser tests: panva's `oidc-provider` (OpenID Certified), with its
// development login and consent pages, which accept any password. The `groups` claim, in the ID token, is
// what sightline maps to a role.

import { createServer } from "node:http";
import Provider from "oidc-provider";

export const CLIENT_ID = "sightline";
export const CLIENT_SECRET = "sightline-browser-tests-secret";

/** The groups of each account, by login; any other login has none. */
const GROUPS = { ana: ["sre"], bo: ["marketing"] };

/** Starts the provider on a loopback port, with sightline as a client redirecting to `redirectUri`. */
export async function startProvider(redirectUri) {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        response_types: ["code"],
        grant_types: ["authorization_code"],
      },
    ],
    claims: { openid: ["sub"], profile: ["preferred_username", "name"], groups: ["groups"] },
    // The scopes' claims go into the ID token, where sightline reads them.
    conformIdTokenClaims: false,
    cookies: { keys: ["sightline-browser-tests-cookie-key"] },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, preferred_username: id, name: id, groups: GROUPS[id] ?? [] };
        },
      };
    },
  });
  server.on("request", provider.callback());
  return {
    issuer,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
