// The API as the page uses it: same-origin requests with the session cookie, and the session's CSRF token on
// every request that changes something. Errors carry the server's message.

export type Role = "viewer" | "editor" | "admin";

export interface Me {
  name: string;
  role: Role;
  csrf_token: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Whether `user` may change things: create and expire silences, replay dead letters (editors and admins). */
export function mayEdit(user: Me): boolean {
  return user.role !== "viewer";
}

/** An error of the notification API as the page says it: a 404 means notifications are not configured. */
export function notificationError(error: unknown): string {
  if (error instanceof ApiError && error.status === 404) return "Notifications are not configured.";
  return (error as Error).message;
}

let csrfToken: string | null = null;

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const message = (parsed as { error?: string } | null)?.error ?? response.statusText;
    throw new ApiError(response.status, message);
  }
  return parsed as T;
}

export async function me(): Promise<Me | null> {
  try {
    const who = await request<Me>("GET", "/api/v1/auth/me");
    csrfToken = who.csrf_token;
    return who;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function login(username: string, password: string): Promise<Me> {
  const answer = await request<{ user: { name: string; role: Role }; csrf_token: string }>(
    "POST",
    "/api/v1/auth/login",
    { username, password },
  );
  csrfToken = answer.csrf_token;
  return { name: answer.user.name, role: answer.user.role, csrf_token: answer.csrf_token };
}

/** Whether single sign-on is configured, and its button's text. */
export const singleSignOn = () => request<{ enabled: boolean; label?: string }>("GET", "/api/v1/auth/oidc");

export async function logout(): Promise<void> {
  await request<null>("POST", "/api/v1/auth/logout");
  csrfToken = null;
}

export interface SqlResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  truncated: boolean;
}

export function sql(query: string): Promise<SqlResult> {
  return request<SqlResult>("POST", "/api/v1/sql", { sql: query });
}

/** A string as a SQL literal. */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export interface PromSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/** A PromQL range query over the last `seconds`, with about 200 points per series. */
export async function queryRange(query: string, seconds: number): Promise<PromSeries[]> {
  const end = Date.now() / 1000;
  const start = end - seconds;
  const step = Math.max(1, Math.round(seconds / 200));
  const parameters = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
  const answer = await request<{ data: { result: PromSeries[] } }>("GET", `/api/v1/query_range?${parameters}`);
  return answer.data.result;
}

/** The values of a label across the series the user may read (`__name__`: the metric names). */
export async function labelValues(label: string): Promise<string[]> {
  const answer = await request<{ data: string[] }>("GET", `/api/v1/label/${encodeURIComponent(label)}/values`);
  return answer.data;
}

/** The label sets of `metric`'s series over the last `seconds`. */
export async function seriesOf(metric: string, seconds: number): Promise<Record<string, string>[]> {
  const end = Date.now() / 1000;
  const parameters = new URLSearchParams({ "match[]": metric, start: String(end - seconds), end: String(end) });
  return (await request<{ data: Record<string, string>[] }>("GET", `/api/v1/series?${parameters}`)).data;
}

export interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
  activeAt: string;
  value: string;
}

export async function alerts(): Promise<Alert[]> {
  const answer = await request<{ data: { alerts: Alert[] } }>("GET", "/api/v1/alerts");
  return answer.data.alerts;
}

export interface Evaluation {
  time: string;
  /** Seconds. */
  duration: number;
  /** Hidden (null) from users limited to some services: it counts every service's series. */
  results: number | null;
  health: "ok" | "nodata" | "err";
  error: string | null;
}

export interface Rule {
  name: string;
  type: "alerting" | "recording";
  query: string;
  queryLanguage: "promql" | "sql";
  health: "ok" | "err" | "unknown";
  lastError: string;
  lastEvaluation: string;
  evaluationTime: number;
  evaluations: Evaluation[];
  state?: "inactive" | "pending" | "firing";
  alerts?: Alert[];
}

export interface RuleGroup {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
}

export async function rules(): Promise<{ groups: RuleGroup[]; loadErrors: { file: string; errors: string[] }[] }> {
  return (await request<{ data: { groups: RuleGroup[]; loadErrors: { file: string; errors: string[] }[] } }>("GET", "/api/v1/rules"))
    .data;
}

/** Silences every alert with exactly these labels for `hours`; the silence's id. */
export async function silence(labels: Record<string, string>, hours: number, createdBy: string): Promise<string> {
  const now = Date.now();
  // `service_name=""` when the alert has no such label: a silence that names its service mutes no other
  // service's alerts, which is what a user limited to some services may create.
  const named = "service_name" in labels ? labels : { ...labels, service_name: "" };
  const matchers = Object.entries(named).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
  const answer = await request<{ silenceID: string }>("POST", "/api/v2/silences", {
    matchers,
    startsAt: new Date(now).toISOString(),
    endsAt: new Date(now + hours * 3_600_000).toISOString(),
    createdBy,
    comment: "silenced from the alerts page",
  });
  return answer.silenceID;
}

export interface User {
  name: string;
  role: Role;
  scopes: string[];
  created_at: number;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  detail: string | null;
}

export const users = () => request<User[]>("GET", "/api/v1/admin/users");
export const createUser = (user: { name: string; password: string; role: Role; scopes: string[] }) =>
  request<User>("POST", "/api/v1/admin/users", user);
export const updateUser = (name: string, change: { role?: Role; password?: string; scopes?: string[] }) =>
  request<null>("PATCH", `/api/v1/admin/users/${encodeURIComponent(name)}`, change);
export const deleteUser = (name: string) => request<null>("DELETE", `/api/v1/admin/users/${encodeURIComponent(name)}`);

export interface Team {
  name: string;
  scopes: string[];
  members: string[];
}

export const teams = () => request<Team[]>("GET", "/api/v1/admin/teams");
export const saveTeam = (team: Team) =>
  request<null>("PUT", `/api/v1/admin/teams/${encodeURIComponent(team.name)}`, {
    scopes: team.scopes,
    members: team.members,
  });
export const deleteTeam = (name: string) => request<null>("DELETE", `/api/v1/admin/teams/${encodeURIComponent(name)}`);

/** Globs or names typed as a comma-separated list. */
export function listOf(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

export interface ApiToken {
  id: number;
  user: string;
  name: string;
  role: Role;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export const ownTokens = () => request<ApiToken[]>("GET", "/api/v1/tokens");
export const allTokens = () => request<ApiToken[]>("GET", "/api/v1/admin/tokens");
/** A new token: `token` is its secret, which the server shows this once. */
export const createToken = (name: string, role: Role, expiresIn: string) =>
  request<ApiToken & { token: string }>("POST", "/api/v1/tokens", { name, role, expires_in: expiresIn });
export const revokeOwnToken = (id: number) => request<null>("DELETE", `/api/v1/tokens/${id}`);
export const revokeAnyToken = (id: number) => request<null>("DELETE", `/api/v1/admin/tokens/${id}`);
export const changePassword = (current: string, password: string) =>
  request<null>("POST", "/api/v1/auth/password", { current_password: current, new_password: password });

/** A page of the audit log, newest first: 100 entries older than the entry `before`, or the newest. */
export const auditLog = (before?: number) =>
  request<AuditEntry[]>("GET", `/api/v1/admin/audit?limit=100${before === undefined ? "" : `&before=${before}`}`);

/** A time in milliseconds since the epoch as the pages show it. */
export function timeText(ms: number | null): string {
  return ms === null ? "" : new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export const ROLES: Role[] = ["viewer", "editor", "admin"];

export interface Silence {
  id: string;
  status: { state: "active" | "pending" | "expired" };
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export const silences = () => request<Silence[]>("GET", "/api/v2/silences");
export const expireSilence = (id: string) => request<null>("DELETE", `/api/v2/silence/${encodeURIComponent(id)}`);

export interface DeadLetter {
  id: number;
  receiver: string;
  integration: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
}

export async function deadLetters(): Promise<DeadLetter[]> {
  return (await request<{ data: DeadLetter[] }>("GET", "/api/v1/notifications/dead_letters")).data;
}

export interface Delivery extends DeadLetter {
  status: "pending" | "delivered" | "dead";
  doneAt: string | null;
  nextAttemptAt: string | null;
  groupLabels: Record<string, string>;
  firing: number;
  resolved: number;
}

/** The newest 50 notifications, or the 50 before the one with id `before`. */
export async function deliveries(before?: number): Promise<Delivery[]> {
  const page = before === undefined ? "" : `&before=${before}`;
  return (await request<{ data: Delivery[] }>("GET", `/api/v1/notifications/deliveries?limit=50${page}`)).data;
}

export interface IntegrationState {
  receiver: string;
  integration: string;
  breaker: "closed" | "open" | "half_open";
  consecutiveFailures: number;
  openUntil: string | null;
}

export async function integrations(): Promise<{ integrations: IntegrationState[]; pending: number; deadLetters: number }> {
  return (
    await request<{ data: { integrations: IntegrationState[]; pending: number; deadLetters: number } }>(
      "GET",
      "/api/v1/notifications/integrations",
    )
  ).data;
}

export interface TestOutcome {
  integration: string;
  delivered: boolean;
  error: string | null;
}

/** Sends the test notification to each integration of `receiver` now. */
export async function sendTestNotification(receiver: string): Promise<TestOutcome[]> {
  const path = `/api/v1/notifications/receivers/${encodeURIComponent(receiver)}/test`;
  return (await request<{ data: TestOutcome[] }>("POST", path)).data;
}

export const replayDeadLetter = (id: number) =>
  request<unknown>("POST", `/api/v1/notifications/dead_letters/${id}/replay`);

export async function receivers(): Promise<string[]> {
  return (await request<{ name: string }[]>("GET", "/api/v2/receivers")).map((receiver) => receiver.name);
}

export interface RedactionRule {
  name: string;
  kind: "key" | "value" | "sql_literals" | "allow_list";
  action: "drop" | "mask" | "hash";
  builtin: boolean;
  matches: string[];
  signals: string[];
  services: string[];
  redacted: Record<"logs" | "metrics" | "traces", number>;
}

export const redaction = () => request<{ enabled: boolean; rules: RedactionRule[] }>("GET", "/api/v1/redaction");
