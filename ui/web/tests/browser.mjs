// Browser tests of the web UI: the real daemon, driven in Debian's Chromium by playwright-core.
//
//   node tests/browser.mjs <sightline binary> <artifacts directory>
//
// Each test starts from a fresh daemon on loopback ports. Screenshots go to the artifacts directory. The exit
// status is 1 when a test fails.

import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { CLIENT_ID, CLIENT_SECRET, startProvider } from "./oidc-provider.mjs";

const [binary, artifacts] = process.argv.slice(2);
if (!binary || !artifacts) {
  console.error("usage: node tests/browser.mjs <sightline binary> <artifacts directory>");
  process.exit(2);
}
const CHROMIUM = process.env.SIGHTLINE_CHROMIUM ?? "/usr/bin/chromium";
const ADMIN_PASSWORD = "the first admin's password";
const ADMIN_TOKEN = "browser-tests-admin-token";
const RULES = `
groups:
  - name: queues
    interval: 1s
    rules:
      - alert: QueueStuck
        expr: vector(1)
        labels: { severity: page }
        annotations: { summary: the email queue is stuck }
`;
const ALERTMANAGER = `
route: { receiver: nowhere }
receivers: [{ name: nowhere }]
`;

/** Starts the daemon on loopback ports (the API's on `apiPort` if given, else any), with `oidc` settings if
 * given; resolves to its URLs once it reports its listeners. */
async function startDaemon({ apiPort = 0, oidc } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "sightline-browser-"));
  const config = {
    data_dir: join(dir, "data"),
    log: { format: "json", level: "info" },
    otlp: { grpc: { listen: "127.0.0.1:0" }, http: { listen: "127.0.0.1:0" } },
    http: { listen: `127.0.0.1:${apiPort}` },
    // Plain HTTP on loopback: the documented case for cookies without `Secure`.
    auth: { admin_password: ADMIN_PASSWORD, admin_token: ADMIN_TOKEN, secure_cookies: false, oidc },
    rule_files: ["rules.yaml"],
    notifications_file: "alertmanager.yml",
  };
  await writeFile(join(dir, "rules.yaml"), RULES);
  await writeFile(join(dir, "alertmanager.yml"), ALERTMANAGER);
  await writeFile(join(dir, "sightline.yaml"), JSON.stringify(config));
  const child = spawn(binary, ["serve", "--config", join(dir, "sightline.yaml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const listeners = {};
  const lines = createInterface({ input: child.stderr });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("sightline did not report its listeners")), 30_000);
    child.on("exit", (code) => reject(new Error(`sightline exited with ${code}`)));
    lines.on("line", (line) => {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.fields?.message === "listening") listeners[entry.fields.listener] = entry.fields.address;
      if (listeners.api && listeners.otlp_http) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  lines.on("line", () => {}); // keep draining stderr
  return {
    ui: `http://${listeners.api}`,
    otlp: `http://${listeners.otlp_http}`,
    async stop() {
      child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A loopback port free at the time of asking: for the daemon whose address the provider must know first. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Logs in at the provider's development pages as `login`, from sightline's single sign-on button. */
async function singleSignOn(page, daemon, login) {
  await page.goto(daemon.ui);
  await page.click("a.sso");
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "any password");
  await page.click("button:has-text('Sign-in')");
  await page.click("button:has-text('Continue')");
}

/** Sends log records over OTLP/HTTP JSON, as an SDK would. */
async function sendLogs(daemon, service, bodies) {
  const now = BigInt(Date.now()) * 1_000_000n;
  // A body, or a record's fields (`body`, `severityNumber`, `traceId`…) over an ERROR record's.
  const logRecords = bodies.map((record, i) => {
    const { body, ...fields } = typeof record === "string" ? { body: record } : record;
    return { timeUnixNano: String(now + BigInt(i)), severityNumber: 17, severityText: "ERROR", body: { stringValue: body }, ...fields };
  });
  const payload = {
    resourceLogs: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
        scopeLogs: [{ logRecords }],
      },
    ],
  };
  const response = await fetch(`${daemon.otlp}/v1/logs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  if (!response.ok) throw new Error(`export failed: ${response.status} ${await response.text()}`);
}

/** Posts an OTLP/HTTP JSON export to `path` (`/v1/traces`, `/v1/metrics`). */
async function send(daemon, path, payload) {
  const response = await fetch(`${daemon.otlp}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  if (!response.ok) throw new Error(`export failed: ${response.status} ${await response.text()}`);
}

const resource = (service) => ({ attributes: [{ key: "service.name", value: { stringValue: service } }] });

/** A trace of two services: checkout's request, whose call to payments failed. */
async function sendTrace(daemon) {
  const now = BigInt(Date.now()) * 1_000_000n;
  const at = (ms) => String(now - 1_000_000_000n + BigInt(ms) * 1_000_000n);
  const traceId = "5b8efff798038103d269b633813fc60c";
  await send(daemon, "/v1/traces", {
    resourceSpans: [
      {
        resource: resource("checkout"),
        scopeSpans: [
          {
            spans: [
              { traceId, spanId: "eee19b7ec3c1b174", name: "POST /pay", kind: 2, startTimeUnixNano: at(0), endTimeUnixNano: at(120) },
            ],
          },
        ],
      },
      {
        resource: resource("payments"),
        scopeSpans: [
          {
            spans: [
              {
                traceId,
                spanId: "eee19b7ec3c1b175",
                parentSpanId: "eee19b7ec3c1b174",
                name: "charge card",
                kind: 3,
                startTimeUnixNano: at(20),
                endTimeUnixNano: at(100),
                status: { code: 2, message: "card declined" },
                attributes: [{ key: "payment.provider", value: { stringValue: "acme" } }],
              },
            ],
          },
        ],
      },
    ],
  });
  return traceId;
}

/** A gauge of checkout's queue depth over the last two minutes. */
async function sendQueueDepth(daemon) {
  const now = Date.now();
  const dataPoints = [120, 60, 0].map((ago, i) => ({
    timeUnixNano: String(BigInt(now - ago * 1000) * 1_000_000n),
    asDouble: 10 + i,
  }));
  await send(daemon, "/v1/metrics", {
    resourceMetrics: [
      {
        resource: resource("checkout"),
        scopeMetrics: [{ metrics: [{ name: "queue.depth", unit: "{message}", gauge: { dataPoints } }] }],
      },
    ],
  });
}

/** Calls the API with the admin token. */
async function asAdmin(daemon, method, path, body) {
  const response = await fetch(`${daemon.ui}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** The row of the firing `QueueStuck` alert on the alerts page, reloaded until the rule has fired (at its first
 * evaluation, within a second of the start). */
async function firingAlert(page) {
  const row = page.locator("table.alerts tr", { hasText: "QueueStuck" });
  // The page has loaded its alerts when it shows their table or says there are none.
  const loaded = page.locator("table.alerts").or(page.getByText("No alert is pending or firing."));
  for (let attempt = 0; ; attempt += 1) {
    await loaded.first().waitFor();
    if ((await row.count()) > 0) break;
    assert(attempt < 20, "the alert never showed");
    await page.waitForTimeout(500);
    await page.reload();
  }
  await row.locator("text=firing").waitFor();
  return row;
}

async function logIn(page, daemon, username, password) {
  await page.goto(daemon.ui);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const XSS_BODY = `<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">`;

const tests = {
  async "logging in and searching logs shows the matching records, their bodies as text"(page, daemon) {
    const traceId = await sendTrace(daemon);
    await sendLogs(daemon, "checkout", [
      { body: "payment declined for order 42", traceId, spanId: "eee19b7ec3c1b175" },
      XSS_BODY,
      { body: "cart emptied", severityNumber: 9, severityText: "INFO" },
    ]);
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.click("nav >> text=Logs");
    await page.fill("input[name=text]", "window.__xss");
    await page.click("text=Search");
    const cell = page.locator("table.logs td.body");
    await cell.first().waitFor();
    const bodies = await cell.allTextContents();
    assert(bodies.length === 1 && bodies[0] === XSS_BODY, `expected the payload as text, got ${JSON.stringify(bodies)}`);
    assert((await page.locator("table.logs img, table.logs script").count()) === 0, "the payload became elements");
    assert((await page.evaluate(() => window.__xss)) === undefined, "the payload ran");
    // Errors and above: the INFO record is left out; the histogram counts what the search found.
    await page.fill("input[name=text]", "");
    await page.selectOption("select[name=severity]", "error");
    await page.click("text=Search");
    await page.waitForSelector("text=payment declined for order 42");
    await page.waitForSelector(".histogram canvas");
    const shown = await cell.allTextContents();
    assert(shown.length === 2 && !shown.includes("cart emptied"), `errors and above: ${JSON.stringify(shown)}`);
    await page.screenshot({ path: join(artifacts, "logs-search.png"), fullPage: true });
    // From a log to its trace.
    await page.locator("table.logs tr", { hasText: "payment declined" }).locator("text=trace").click();
    await page.locator(".waterfall .span").nth(1).waitFor();
  },

  async "live tail shows records as they arrive, without another search"(page, daemon) {
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.click("nav >> text=Logs");
    await page.check("input[name=tail]");
    await page.waitForSelector("table.logs");
    await sendLogs(daemon, "checkout", ["arrived while tailing"]);
    await page.waitForSelector("text=arrived while tailing", { timeout: 10_000 });
  },

  async "the home page shows what was received and stored, and which services fail"(page, daemon) {
    await sendTrace(daemon);
    await sendLogs(daemon, "checkout", ["one", "two", "three"]);
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.waitForSelector("table.failing >> text=payments");
    const failing = await page.locator("table.failing tbody tr").allTextContents();
    assert(failing.length === 1, `failing services: ${JSON.stringify(failing)}`);
    await page.waitForSelector(".tile >> text=3 in all");
    await page.screenshot({ path: join(artifacts, "home.png"), fullPage: true });
  },

  async "a trace opens as a waterfall across services with its failed span marked and its attributes shown"(page, daemon) {
    const traceId = await sendTrace(daemon);
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.click("nav >> text=Traces");
    await page.fill("input[name=service]", "checkout");
    await page.click("text=Search");
    await page.click(`a[href="#traces/${traceId}"]`);
    const rows = page.locator(".waterfall .span");
    await rows.nth(1).waitFor();
    const labels = await rows.locator(".label").allTextContents();
    assert(JSON.stringify(labels) === JSON.stringify(["checkout: POST /pay", "payments: charge card"]), `rows ${labels}`);
    const failed = await page.locator(".waterfall .span.failed .label").allTextContents();
    assert(JSON.stringify(failed) === JSON.stringify(["payments: charge card"]), `failed rows ${failed}`);
    await rows.nth(1).click();
    await page.waitForSelector("table.attributes >> text=card declined");
    await page.waitForSelector("table.attributes >> text=acme");
    await page.screenshot({ path: join(artifacts, "trace-waterfall.png"), fullPage: true });
  },

  async "a PromQL query over the last hour draws a chart of its series"(page, daemon) {
    await sendQueueDepth(daemon);
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.click("nav >> text=Metrics");
    // The PromQL editor completes metric names from the server.
    await page.click(".promql-editor .cm-content");
    await page.keyboard.type("queue_d");
    await page.waitForSelector(".cm-tooltip-autocomplete >> text=queue_depth");
    // CodeMirror ignores an accept in the first 75 ms after the list opens, against accidental picks.
    await page.waitForTimeout(200);
    await page.keyboard.press("Enter");
    const written = await page.locator(".promql-editor .cm-content").textContent();
    assert(written === "queue_depth", `the editor holds ${JSON.stringify(written)}`);
    await page.click("text=Run");
    await page.waitForSelector(".chart canvas");
    await page.waitForSelector('text=queue_depth{job="checkout"}');
    await page.screenshot({ path: join(artifacts, "metrics-chart.png"), fullPage: true });
    // The metric browser: find the metric, then choose one of its labels' values.
    await page.reload();
    await page.fill("[aria-label=\"find a metric\"]", "depth");
    await page.click(".metric-names >> text=queue_depth");
    await page.click(".metric-labels[data-metric=queue_depth] >> button.label-value:text-is('checkout')");
    await page.waitForFunction(
      () => document.querySelector(".promql-editor .cm-content")?.textContent === 'queue_depth{job="checkout"}',
    );
    await page.waitForSelector(".chart canvas");
    await page.screenshot({ path: join(artifacts, "metric-browser.png"), fullPage: true });
  },

  async "an SQL query shows its columns and rows, and a refused statement the server's reason"(page, daemon) {
    await sendLogs(daemon, "checkout", ["one", "two", "three"]);
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.click("nav >> text=SQL");
    await page.fill("textarea[name=sql]", "SELECT service_name, count(*) AS n FROM logs GROUP BY service_name");
    await page.keyboard.press("Control+Enter");
    await page.waitForSelector("table.sql-result >> text=checkout");
    const headers = await page.locator("table.sql-result th").allTextContents();
    const cells = await page.locator("table.sql-result td").allTextContents();
    assert(JSON.stringify([headers, cells]) === JSON.stringify([["service_name", "n"], ["checkout", "3"]]), `${headers} ${cells}`);
    await page.screenshot({ path: join(artifacts, "sql.png"), fullPage: true });
    await page.fill("textarea[name=sql]", "DROP TABLE logs");
    await page.click("text=Run");
    await page.waitForSelector("text=only SELECT queries are allowed");
  },

  async "a firing alert is silenced in one click, then listed and expired on the silences page"(page, daemon) {
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.click("nav >> text=Alerts");
    // The rule fires at its first evaluation, within a second of the start.
    const row = await firingAlert(page);
    await row.locator("button", { hasText: "Silence" }).click();
    await row.locator("text=Silenced for 2 h").waitFor();
    await page.screenshot({ path: join(artifacts, "alert-silenced.png"), fullPage: true });
    const silences = await asAdmin(daemon, "GET", "/api/v2/silences");
    assert(silences.length === 1 && silences[0].status.state === "active", `silences: ${JSON.stringify(silences)}`);
    const matched = Object.fromEntries(silences[0].matchers.map((m) => [m.name, m.value]));
    assert(matched.alertname === "QueueStuck" && matched.severity === "page", `matchers: ${JSON.stringify(matched)}`);
    assert(silences[0].createdBy === "admin", `created by ${silences[0].createdBy}`);
    // The silences page lists it, and expires it.
    await page.click("nav >> text=Silences");
    const silenceRow = page.locator("table.silences tr", { hasText: 'alertname="QueueStuck"' });
    await silenceRow.locator("text=active").waitFor();
    await silenceRow.locator("button", { hasText: "Expire" }).click();
    await silenceRow.locator("td", { hasText: /^expired$/ }).waitFor();
    await page.screenshot({ path: join(artifacts, "silence-expired.png"), fullPage: true });
    const after = await asAdmin(daemon, "GET", "/api/v2/silences");
    assert(after[0].status.state === "expired", `after expiry: ${JSON.stringify(after[0].status)}`);
    await page.click("nav >> text=Notifications");
    await page.waitForSelector("text=Receivers: nowhere");
    await page.waitForSelector("text=Nothing was sent yet.");
    await page.click("text=Send test notification");
    await page.waitForSelector("text=nowhere has no integration: nothing was sent.");
    await page.waitForSelector("text=No dead letters");
    // The rules page shows the rule firing, and its evaluations on a click.
    await page.click("nav >> text=Rules");
    const rule = page.locator("tr[data-rule=QueueStuck]");
    await rule.locator("td", { hasText: /^firing$/ }).waitFor();
    await rule.locator("td", { hasText: /^ok$/ }).waitFor();
    await rule.click();
    await page.waitForSelector("text=Last evaluations of QueueStuck");
    assert((await page.locator("table.evaluations tbody tr").count()) > 0, "no evaluation is listed");
    await page.screenshot({ path: join(artifacts, "rules.png"), fullPage: true });
  },

  async "a viewer sees no admin page, and the API refuses them its data"(page, daemon) {
    await asAdmin(daemon, "POST", "/api/v1/admin/users", { name: "vera", password: "vera's password", role: "viewer" });
    await logIn(page, daemon, "vera", "vera's password");
    await page.waitForSelector("text=vera (viewer)");
    assert((await page.locator("nav >> text=Admin").count()) === 0, "the viewer is offered the admin page");
    await page.goto(`${daemon.ui}/#admin`);
    await page.waitForSelector("text=The admin pages need the admin role.");
    assert((await page.locator("table.users").count()) === 0, "the users table is shown to a viewer");
    const status = await page.evaluate(async () => (await fetch("/api/v1/admin/users")).status);
    assert(status === 403, `GET /api/v1/admin/users answered ${status} to a viewer`);
    // Alerts show, without the button that would need the editor role.
    await page.goto(`${daemon.ui}/#alerts`);
    await firingAlert(page);
    assert((await page.locator("table.alerts button").count()) === 0, "a viewer is offered to silence");
    await page.screenshot({ path: join(artifacts, "viewer-admin-refused.png"), fullPage: true });
  },

  async "an admin creates a scoped user and a team, who then makes an API token shown once"(page, daemon) {
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.click("nav >> text=Admin");
    await page.fill("[aria-label=\"new user's name\"]", "sam");
    await page.fill("[aria-label=\"new user's password\"]", "sam's password");
    await page.selectOption("[aria-label=\"new user's role\"]", "editor");
    await page.fill("[aria-label=\"new user's services\"]", "checkout, cart-*");
    await page.click("text=Create user");
    await page.waitForSelector("tr[data-user=sam]");
    await page.fill("[aria-label=\"new team's name\"]", "shop");
    await page.fill("[aria-label=\"new team's services\"]", "payments");
    await page.fill("[aria-label=\"new team's members\"]", "sam");
    await page.click("text=Create team");
    await page.waitForSelector("form[data-team=shop]");
    // Editing a row: sam becomes a viewer.
    await page.selectOption("[aria-label=\"role of sam\"]", "viewer");
    await page.click("tr[data-user=sam] >> text=Save");
    await page.waitForFunction(() => document.querySelector("tr[data-user=sam] button")?.disabled === true);
    // Each change shows in the audit log at once.
    for (const action of ["user_created", "scopes_changed", "team_created", "role_changed"]) {
      await page.locator("table.audit td", { hasText: new RegExp(`^${action}$`) }).first().waitFor();
    }
    await page.screenshot({ path: join(artifacts, "admin-users-teams.png"), fullPage: true });
    const users = await asAdmin(daemon, "GET", "/api/v1/admin/users");
    const sam = users.find((user) => user.name === "sam");
    assert(sam?.role === "viewer" && sam.scopes.join() === "checkout,cart-*", `sam: ${JSON.stringify(sam)}`);
    const teams = await asAdmin(daemon, "GET", "/api/v1/admin/teams");
    assert(JSON.stringify(teams) === '[{"name":"shop","scopes":["payments"],"members":["sam"]}]', JSON.stringify(teams));

    await page.click("text=Log out");
    await logIn(page, daemon, "sam", "sam's password");
    await page.click("nav >> text=Account");
    await page.fill("[aria-label=\"token name\"]", "ci pipeline");
    await page.click("text=Create token");
    const token = (await page.locator(".created-token code").textContent()) ?? "";
    assert(token.startsWith("sl_"), `token shown: ${token}`);
    await page.waitForSelector("tr[data-token=\"ci pipeline\"]");
    await page.screenshot({ path: join(artifacts, "account-token.png"), fullPage: true });
    const who = await (await fetch(`${daemon.ui}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })).json();
    assert(who.name === "sam" && who.role === "viewer", `the token acts as ${JSON.stringify(who)}`);
    await page.click("tr[data-token=\"ci pipeline\"] >> text=Revoke");
    await page.waitForSelector("text=No API tokens.");
    const after = await fetch(`${daemon.ui}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    assert(after.status === 401, `a revoked token answered ${after.status}`);
  },

  async "the redaction page lists the rules in force and counts what each redacted"(page, daemon) {
    await sendLogs(daemon, "checkout", ["retrying with Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456"]);
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.click("nav >> text=Redaction");
    const row = page.locator("tr[data-rule=bearer_token]");
    await row.waitFor();
    assert((await row.locator("td.count").first().textContent()) === "1", "the masked token is not counted");
    assert((await page.locator("tr[data-rule=jwt] td.count").first().textContent()) === "0", "jwt counted");
    await page.screenshot({ path: join(artifacts, "redaction.png"), fullPage: true });
  },

  async "single sign-on logs a user in with the role their groups give, and refuses one with no role"(page) {
    const port = await freePort();
    const provider = await startProvider(`http://127.0.0.1:${port}/api/v1/auth/oidc/callback`);
    const daemon = await startDaemon({
      apiPort: port,
      oidc: {
        issuer: provider.issuer,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_url: `http://127.0.0.1:${port}/api/v1/auth/oidc/callback`,
        scopes: ["profile", "groups"],
        roles: { editor: ["sre"] },
        label: "Log in with the test provider",
      },
    });
    try {
      await page.goto(daemon.ui);
      await page.waitForSelector("a.sso >> text=Log in with the test provider");
      await singleSignOn(page, daemon, "ana");
      await page.waitForSelector("text=ana (editor)");
      await page.screenshot({ path: join(artifacts, "sso-logged-in.png"), fullPage: true });
      const users = await asAdmin(daemon, "GET", "/api/v1/admin/users");
      const ana = users.find((user) => user.name === "ana");
      assert(ana?.role === "editor", `ana: ${JSON.stringify(users)}`);
      // The session is a normal one: the API answers with the cookie, and logging out ends it.
      const me = await page.evaluate(async () => (await fetch("/api/v1/auth/me")).json());
      assert(me.name === "ana" && me.csrf_token, `me: ${JSON.stringify(me)}`);
      await page.click("text=Log out");
      await page.waitForSelector("input[name=password]");

      // bo's groups map to no role, and there is no default role.
      await page.context().clearCookies();
      await singleSignOn(page, daemon, "bo");
      await page.waitForSelector("text=bo has no sightline role: ask an admin to give one");
      await page.screenshot({ path: join(artifacts, "sso-refused.png"), fullPage: true });
      const after = await asAdmin(daemon, "GET", "/api/v1/admin/users");
      assert(!after.some((user) => user.name === "bo"), "bo was created");
      const audit = await asAdmin(daemon, "GET", "/api/v1/admin/audit?limit=20");
      assert(
        audit.some((entry) => entry.action === "login_failed" && entry.actor === "bo"),
        `audit: ${JSON.stringify(audit)}`,
      );
      // A callback with a state this browser was not given is refused.
      await page.goto(`${daemon.ui}/api/v1/auth/oidc/callback?code=stolen&state=forged`);
      await page.waitForSelector("text=this login was not started in this browser: log in again");
    } finally {
      await daemon.stop();
      await provider.stop();
    }
  },

  async "a wrong password is refused with the server's message and no session"(page, daemon) {
    await logIn(page, daemon, "admin", "not the password");
    await page.waitForSelector("text=invalid user name or password");
    await page.screenshot({ path: join(artifacts, "login-refused.png") });
    await page.reload();
    await page.waitForSelector("input[name=password]");
  },

  async "logging out ends the session, and a reload shows the login again"(page, daemon) {
    await logIn(page, daemon, "admin", ADMIN_PASSWORD);
    await page.click("text=Log out");
    await page.waitForSelector("input[name=password]");
    await page.reload();
    await page.waitForSelector("input[name=password]");
  },
};

await mkdir(artifacts, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
let failed = 0;
for (const [name, test] of Object.entries(tests)) {
  const daemon = await startDaemon();
  const context = await browser.newContext();
  const page = await context.newPage();
  // The Content-Security-Policy must allow everything the app itself does.
  const violations = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  try {
    await test(page, daemon);
    assert(violations.length === 0, `CSP violations: ${violations.join("; ")}`);
    console.log(`browser test ${name} ... ok`);
  } catch (error) {
    failed += 1;
    console.log(`browser test ${name} ... FAILED\n${error.stack ?? error}`);
    await page.screenshot({ path: join(artifacts, `failed-${failed}.png`), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
    await daemon.stop();
  }
}
await browser.close();
const passed = Object.keys(tests).length - failed;
console.log(`browser tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
