// Integration harness: the real workspaces subgraph over HTTP and WebSocket on a fresh PostgreSQL
// database, with a stand-in gateway key, a recorder in place of authz's grant endpoint, and a
// stand-in audit. A second node can join the same database (and Redis) to test what crosses nodes.
import 'reflect-metadata';
import { afterAll, beforeAll, inject, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLocalJWKSet } from 'jose';
import { ANONYMOUS, createInternalTokenVerifier, InternalTokenMinter, type Caller } from '@citadel/kit/auth';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import type { ScopedGrant } from '@citadel/kit/authz-client';
import { createOrm, migrate, type Orm } from '@citadel/kit/db';
import { generateSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { MemoryPubSub, type PubSub } from '@citadel/kit/pubsub';
import type { SigningKey } from '@citadel/kit/keys';
import { createTestDatabase } from '@citadel/kit/testing/database';
import { graphqlRequest, type RequestOptions } from '@citadel/kit/testing/graphql-client';
import type { Client } from 'graphql-ws';
import { createWorkspacesApp, type WorkspacesApp, type WorkspacesAppOptions } from '../app';
import type { LookupUserByEmail } from '../users/user-directory';
import type { ScopedGrantSink } from '../grant-mirror';
import { database, SUBGRAPH_NAME } from '../schema';
import { connectAsGateway, watch, type Watch } from './live';

// Statements of background work (outbox relay, grant mirror, key purge), left out of `statements`.
const BACKGROUND = /"outbox"|"grant_mirror"|pg_try_advisory_xact_lock|delete from "workspaces"\."idempotency_keys"/;

/** Records what would have been sent to authz's `POST /internal/grants`; `down` makes it fail. */
export class GrantRecorder implements ScopedGrantSink {
  down = false;
  calls: { grant: ScopedGrant[]; revoke: ScopedGrant[] }[] = [];

  async setGrants(changes: { grant?: ScopedGrant[]; revoke?: ScopedGrant[] }): Promise<void> {
    if (this.down) throw new Error('authz is down (test)');
    this.calls.push({ grant: changes.grant ?? [], revoke: changes.revoke ?? [] });
  }

  /** The grants held now, replaying every recorded call: `userId|role|scope`. */
  held(): string[] {
    const held = new Set<string>();
    for (const call of this.calls) {
      for (const g of call.revoke) held.delete(`${g.userId}|${g.role}|${g.scope}`);
      for (const g of call.grant) held.add(`${g.userId}|${g.role}|${g.scope}`);
    }
    return [...held].sort();
  }
}

export interface WorkspacesHarness {
  baseUrl: string;
  databaseUrl: string;
  orm: Orm;
  app: WorkspacesApp;
  grants: GrantRecorder;
  /**
   * The accounts addMember by email finds, by lower-cased address (identity's lookup stands behind
   * this in production; its route is tested in identity's own tests).
   */
  accounts: Map<string, string>;
  /** Events the outbox relay delivered (a stand-in for audit's ingestion). */
  events: AuditEventInput[];
  /** Delivers what is staged now and returns every event delivered so far. */
  deliveredEvents(): Promise<AuditEventInput[]>;
  /** Data statements the subgraph sent to PostgreSQL (the outbox relay's, grant mirror's and key purge's left out). */
  statements: string[];
  call<T = Record<string, unknown>>(query: string, options?: RequestOptions & { caller?: Caller }): ReturnType<typeof graphqlRequest<T>>;
  /** A WebSocket connection to /graphql as the gateway opens one (lazy; closed by stop()). */
  connect(): Client;
  /** Subscribes on the shared connection as `caller`; `authorization` replaces the caller's internal token. */
  subscribe<T = Record<string, unknown>>(query: string, options?: { caller?: Caller; variables?: Record<string, unknown>; authorization?: string }): Watch<T>;
  /**
   * Starts a subscription and waits until this node serves it (its open-subscription count went up):
   * graphql-ws has no "subscribed" acknowledgement, and a change made before then is not seen.
   */
  live<T>(start: () => Watch<T>): Promise<Watch<T>>;
  /** Mints an internal token for `caller`, as the gateway would for this subgraph (or `audience`). */
  token(caller: Caller, audience?: string): Promise<string>;
  /** Closes the app (as a shutdown would) but keeps the database, so another node can `join` it. */
  stopApp(): Promise<void>;
  stop(): Promise<void>;
}

/** What a second node needs from the first to join it: its database and gateway key. */
export interface StartOptions {
  pubsub?: PubSub;
  /** Join this node's database (already migrated) instead of creating one. */
  join?: WorkspacesHarness;
  /** Replaces the harness's account map as addMember's email lookup. */
  lookupUserByEmail?: LookupUserByEmail;
  /** App options to override (short TTLs, poll intervals). */
  app?: Partial<Pick<WorkspacesAppOptions, 'idempotencyKeyTtlMs' | 'idempotencyPurgeMs' | 'grantRetryMs' | 'grantPollMs' | 'outboxPollMs'>>;
}

const gatewayKeys = new WeakMap<WorkspacesHarness, SigningKey>();

export async function startWorkspaces(adminDatabaseUrl: string, options: StartOptions = {}): Promise<WorkspacesHarness> {
  const testDb = options.join ? { url: options.join.databaseUrl, drop: async () => undefined } : await createTestDatabase(adminDatabaseUrl);
  const statements: string[] = [];
  // MikroORM's query log goes to this logger at debug level; only its SQL lines are kept.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const entry = JSON.parse(line) as { orm?: boolean; msg?: string; level?: number };
        // Unexpected errors stay visible: the test logger is otherwise silent.
        if ((entry.level ?? 0) >= 50 && entry.msg === 'unexpected error') process.stderr.write(`${line}\n`);
        if (entry.orm && entry.msg && /"workspaces"\./.test(entry.msg) && !BACKGROUND.test(entry.msg)) statements.push(entry.msg);
      }
      done();
    },
  });
  const logger = createLogger(SUBGRAPH_NAME, 'debug', sink);
  const orm = await createOrm({ url: testDb.url, logger, ...database });
  if (!options.join) await migrate(orm, SUBGRAPH_NAME);
  orm.config.set('debug', ['query']);
  const joined = options.join ? gatewayKeys.get(options.join) : undefined;
  const [gatewayKey, workspacesKey] = await Promise.all([joined ?? generateSigningKey(), generateSigningKey()]);
  const events: AuditEventInput[] = [];
  const grants = new GrantRecorder();
  const accounts = new Map<string, string>();
  const minter = new InternalTokenMinter(gatewayKey);
  const app = await createWorkspacesApp({
    orm,
    logger,
    pubsub: options.pubsub ?? new MemoryPubSub(),
    introspection: true,
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: createLocalJWKSet(gatewayKey.jwks) }),
    key: workspacesKey,
    grants,
    deliverEvents: async (batch) => {
      events.push(...batch);
    },
    outboxPollMs: 20,
    grantRetryMs: 5,
    lookupUserByEmail: options.lookupUserByEmail ?? (async (email) => accounts.get(email.toLowerCase()) ?? null),
    ...options.app,
  });
  const port = await app.server.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${port}`;
  const token = (caller: Caller, audience = SUBGRAPH_NAME) => minter.mint(caller, audience);
  let shared: Client | undefined;
  let appClosed: Promise<void> | undefined;
  const connect = () => connectAsGateway(baseUrl, () => token(ANONYMOUS));
  const harness: WorkspacesHarness = {
    baseUrl,
    databaseUrl: testDb.url,
    orm,
    app,
    grants,
    accounts,
    events,
    statements,
    deliveredEvents: async () => {
      await app.relay.settle();
      return events;
    },
    call: async (query, options = {}) => {
      const token = await minter.mint(options.caller ?? ANONYMOUS, SUBGRAPH_NAME);
      return graphqlRequest(`${baseUrl}/graphql`, query, { ...options, token });
    },
    connect,
    subscribe: (query, options = {}) =>
      watch((shared ??= connect()), query, {
        variables: options.variables,
        authorization: options.authorization !== undefined ? Promise.resolve(options.authorization) : token(options.caller ?? ANONYMOUS).then((t) => `Bearer ${t}`),
      }),
    live: async (start) => {
      const before = app.subscriptions.active;
      const started = start();
      await vi.waitFor(() => {
        if (started.isEnded()) throw new Error('the subscription ended before it was live');
        if (app.subscriptions.active <= before) throw new Error('not live yet');
      }, { timeout: 5_000, interval: 5 });
      return started;
    },
    token,
    stopApp: () => (appClosed ??= app.server.close()),
    stop: async () => {
      // The server first: it must close open subscriptions itself rather than wait on their sockets.
      await (appClosed ??= app.server.close());
      await shared?.dispose();
      await testDb.drop();
    },
  };
  gatewayKeys.set(harness, gatewayKey);
  return harness;
}

/** A signed-in user as the gateway describes one: every account holds role `user`. */
export function userCaller(userId: string = randomUUID()): Caller {
  return { userId, sessionId: randomUUID(), permissions: ['workspaces.workspace.create'], policies: [] };
}

/** One workspaces subgraph per test file, on a fresh database. */
export function useWorkspaces(options: { pubsub?: () => PubSub; app?: StartOptions['app'] } = {}) {
  let started: WorkspacesHarness | undefined;
  beforeAll(async () => {
    started = await startWorkspaces(inject('adminDatabaseUrl'), { pubsub: options.pubsub?.(), app: options.app });
  });
  afterAll(async () => started?.stop());
  return new Proxy({} as WorkspacesHarness, {
    get: (_target, property) => {
      if (!started) throw new Error('workspaces is not started yet: use it inside a test or hook');
      return started[property as keyof WorkspacesHarness];
    },
  });
}
