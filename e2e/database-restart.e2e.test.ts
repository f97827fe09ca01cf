// PostgreSQL restarted under load, on the real platform: a PostgreSQL of the test's own (so it can be
// stopped and started without touching anyone else's), every service on it, audit left out so
// events wait in the outbox across the restart. While the database is down, readiness is false and
// requests get SERVICE_UNAVAILABLE in bounded time; once it is back, services recover by
// themselves, every acknowledged write is there, and every event written before is delivered.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '@citadel/kit/embedded-postgres';
import { freePort } from '@citadel/kit/testing/ports';
import { graphqlRequest, type GraphQLResponse } from '@citadel/kit/testing/graphql-client';
import { launch, startService, type Platform, type ServiceProcess } from './launcher';
import { account, adminToken, CREATE_TODO, CREATE_WORKSPACE, ok, type Account } from './workspaces-helpers';

const READ = 'query Read($w: ID!) { me { id } workspace(id: $w) { todos { totalCount } } }';
/** The longest a request may take while the database is down: DB_ACQUIRE_TIMEOUT_MS (5 s) and some. */
const BOUND_MS = 7_000;

let pgDir: string;
let db: EmbeddedDatabase;
let platform: Platform;
let gql: string;
let audit: ServiceProcess | undefined;
let ada: Account;
let workspaceId: string;

beforeAll(async () => {
  pgDir = mkdtempSync(join(tmpdir(), 'citadel-pg-restart-'));
  chmodSync(pgDir, 0o755); // embedded PostgreSQL runs as the postgres user when we are root
  db = await startEmbeddedPostgres({ dataDir: pgDir, port: await freePort(), database: 'citadel' });
  // audit runs on its own, started only after the restart: events wait in the outboxes until then.
  platform = await launch({ env: { DATABASE_URL: db.url, LAUNCH_SERVICES: 'identity,authz,workspaces,gateway', REDIS_URL: undefined } });
  gql = `${platform.gatewayUrl}/graphql`;
  ada = await account(gql, 'ada@example.com');
  workspaceId = (await ok<{ createWorkspace: { id: string } }>(gql, ada.token, CREATE_WORKSPACE, { name: 'Restart' })).createWorkspace.id;
}, 180_000);

afterAll(async () => {
  await audit?.stop();
  await platform?.stop();
  await db?.stop();
  if (pgDir) rmSync(pgDir, { recursive: true, force: true });
});

interface Outcome {
  kind: 'write' | 'read';
  startedAt: number;
  ms: number;
  /** ok, or the first error's code, or `HTTP <status>` / `network` for what a client should never see. */
  result: string;
  todoId?: string;
}

/** Writers creating todos and readers reading, back to back, until stopped. */
function steadyLoad(writers: number, readers: number): { outcomes: Outcome[]; stop: () => Promise<void> } {
  const outcomes: Outcome[] = [];
  let running = true;
  let n = 0;
  const one = async (kind: Outcome['kind']) => {
    const startedAt = performance.now();
    const res = await graphqlRequest<{ createTodo?: { id: string } }>(gql, kind === 'write' ? CREATE_TODO : READ, {
      token: ada.token,
      variables: kind === 'write' ? { i: { workspaceId, title: `todo ${++n}` } } : { w: workspaceId },
    }).catch(() => undefined);
    const ms = performance.now() - startedAt;
    let result: string;
    if (!res) result = 'network';
    else if (res.status !== 200) result = `HTTP ${res.status}`;
    else if (res.body.errors?.length) result = String(res.body.errors[0]!.extensions?.code);
    else result = 'ok';
    outcomes.push({ kind, startedAt, ms, result, ...(res?.body.data?.createTodo ? { todoId: res.body.data.createTodo.id } : {}) });
  };
  const loops = [
    ...Array.from({ length: writers }, async () => {
      while (running) await one('write');
    }),
    ...Array.from({ length: readers }, async () => {
      while (running) await one('read');
    }),
  ];
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ready = (base: string) => fetch(`${base}/health/ready`).then((r) => r.status, () => 0);

async function within<T>(what: string, limitMs: number, read: () => Promise<T>, holds: (value: T) => boolean): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (holds(await read())) return performance.now() - started;
    if (performance.now() - started > limitMs) throw new Error(`${what} did not happen within ${limitMs} ms`);
    await sleep(50);
  }
}

describe('PostgreSQL restarted under load', () => {
  it('answers SERVICE_UNAVAILABLE while it is down, recovers by itself, loses no acknowledged write, and delivers every outbox event afterwards', async () => {
    const load = steadyLoad(4, 2);
    await sleep(2_000);
    const stoppedAt = performance.now();
    await db.stop();
    const downAt = performance.now();
    // Readiness says so, for a load balancer or an orchestrator.
    const notReadyMs = await within('readiness false', 10_000, () => Promise.all([ready(platform.workspacesUrl), ready(platform.identityUrl), ready(platform.authzUrl)]), (s) => s.every((x) => x === 503));
    await sleep(4_000);
    // PostgreSQL takes connections a little before start() has read that it is ready.
    const startingAt = performance.now();
    await db.start();
    const upAt = performance.now();
    const readyMs = await within('readiness true', 30_000, () => Promise.all([ready(platform.workspacesUrl), ready(platform.identityUrl), ready(platform.authzUrl)]), (s) => s.every((x) => x === 200));
    await within('a write succeeding again', 30_000, async () => load.outcomes.some((o) => o.kind === 'write' && o.startedAt > upAt && o.result === 'ok'), Boolean);
    await sleep(1_000);
    await load.stop();

    const during = load.outcomes.filter((o) => o.startedAt >= downAt && o.startedAt + o.ms < startingAt);
    const firstOkWrite = load.outcomes.find((o) => o.kind === 'write' && o.startedAt > upAt && o.result === 'ok')!;
    const recoveryMs = firstOkWrite.startedAt + firstOkWrite.ms - upAt;
    const tally = (list: Outcome[]) => list.reduce<Record<string, number>>((acc, o) => ((acc[`${o.kind} ${o.result}`] = (acc[`${o.kind} ${o.result}`] ?? 0) + 1), acc), {});
    console.log(
      `PostgreSQL restart: shutdown took ${Math.round(downAt - stoppedAt)} ms; readiness false after ${Math.round(notReadyMs)} ms; ` +
        `while down ${during.length} requests (${JSON.stringify(tally(during))}), slowest ${Math.round(Math.max(...during.map((o) => o.ms)))} ms; ` +
        `back up: readiness true after ${Math.round(readyMs)} ms, first write acknowledged ${Math.round(recoveryMs)} ms after PostgreSQL was ready; ` +
        `overall ${JSON.stringify(tally(load.outcomes))}`,
    );

    // Only two answers exist: done, or SERVICE_UNAVAILABLE. No 500, no INTERNAL_SERVER_ERROR, no hang.
    expect(new Set(load.outcomes.map((o) => o.result))).toEqual(new Set(['ok', 'SERVICE_UNAVAILABLE']));
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((o) => o.result === 'SERVICE_UNAVAILABLE')).toBe(true);
    expect(Math.max(...load.outcomes.map((o) => o.ms))).toBeLessThan(BOUND_MS);
    expect(recoveryMs).toBeLessThan(10_000);

    // Every write the client was told succeeded is there.
    const acknowledged = new Set(load.outcomes.flatMap((o) => (o.todoId ? [o.todoId] : [])));
    expect(acknowledged.size).toBeGreaterThan(10);
    const stored = await todoIds();
    expect([...acknowledged].filter((id) => !stored.has(id))).toEqual([]);

    // Their events waited in workspaces' outbox across the restart; audit, started now, gets them all.
    const started = performance.now();
    audit = await startService(platform, 'audit', { env: { DATABASE_URL: db.url } });
    const admin = await adminToken(gql, platform.dataDir);
    let audited = new Set<string>();
    await within('every todo.created event in audit', 90_000, async () => (audited = await auditedTodoIds(admin)), (ids) => [...acknowledged].every((id) => ids.has(id)));
    console.log(`all ${acknowledged.size} acknowledged todos' events reached audit ${Math.round(performance.now() - started)} ms after it started`);
    expect([...acknowledged].filter((id) => !audited.has(id))).toEqual([]);
  });
});

async function todoIds(): Promise<Set<string>> {
  const ids = new Set<string>();
  let after: string | null = null;
  do {
    type Page = { workspace: { todos: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } };
    const page: Page = await ok<Page>(gql, ada.token, 'query($w: ID!, $a: String) { workspace(id: $w) { todos(first: 100, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }', { w: workspaceId, a: after });
    for (const edge of page.workspace.todos.edges) ids.add(edge.node.id);
    after = page.workspace.todos.pageInfo.hasNextPage ? page.workspace.todos.pageInfo.endCursor : null;
  } while (after);
  return ids;
}

async function auditedTodoIds(admin: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let after: string | null = null;
  do {
    type Page = { auditEvents: { edges: { node: { target: { id: string } } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const res: GraphQLResponse<Page> = await graphqlRequest<Page>(gql, 'query($a: String) { auditEvents(filter: { action: "workspaces.todo.created" }, first: 100, after: $a) { edges { node { target { id } } } pageInfo { hasNextPage endCursor } } }', {
      token: admin,
      variables: { a: after },
    });
    const page: Page['auditEvents'] | undefined = res.body.data?.auditEvents;
    if (!page) return ids; // audit still registering its permissions with authz
    for (const edge of page.edges) ids.add(edge.node.target.id);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return ids;
}
