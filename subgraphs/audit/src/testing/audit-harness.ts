// Integration harness: the real audit subgraph over HTTP on a fresh PostgreSQL database, with
// stand-in gateway and producer keys that mint real internal and service tokens.
import 'reflect-metadata';
import { afterAll, beforeAll, inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet } from 'jose';
import type pg from 'pg';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { ANONYMOUS, createInternalTokenVerifier, createServiceTokenVerifier, InternalTokenMinter, ServiceTokenMinter, type Caller } from '@citadel/kit/auth';
import { createOrm, migrate, type Orm } from '@citadel/kit/db';
import { generateSigningKey, type SigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { MemoryPubSub, type PubSub } from '@citadel/kit/pubsub';
import { createTestDatabase, withClient } from '@citadel/kit/testing/database';
import { graphqlRequest, type RequestOptions } from '@citadel/kit/testing/graphql-client';
import type { EntityManager } from '@mikro-orm/postgresql';
import { createAuditApp, type AuditApp } from '../app';
import { CheckpointSigner } from '../chain/checkpoint';
import { database, SUBGRAPH_NAME } from '../schema';
import { CountingPubSub } from './counting-pubsub';
import { openLiveSubscription, type LiveSubscription, type LiveSubscriptionOptions } from './live-subscription';

export interface AuditHarnessOptions {
  checkpointEvery?: number;
  retentionDays?: number;
  /** The app's pubsub (in-memory by default); the harness counts its handlers. */
  pubsub?: () => PubSub;
  /** A second instance of audit on this one's database (replicas behind one chain). */
  shareDatabaseWith?: AuditHarness;
}

export type Producer = 'identity' | 'workspaces' | 'intruder';

export interface AuditHarness {
  baseUrl: string;
  databaseUrl: string;
  orm: Orm;
  app: AuditApp;
  key: SigningKey;
  exportDir: string;
  /** A fresh entity manager, for calling the services directly. */
  em(): EntityManager;
  /** A service token as `producer` would mint it for audit; the intruder signs as identity with a key audit does not know. */
  serviceToken(producer?: Producer): Promise<string>;
  gatewayToken(): Promise<string>;
  /** Handlers subscribed on the app's pubsub now, on `channel`. */
  pubsubHandlers(channel: string): number;
  /** A subscription over graphql-ws on /graphql, as the gateway would open it for `caller`. */
  subscribe<T = Record<string, unknown>>(query: string, options?: LiveSubscriptionOptions & { caller?: Caller }): Promise<LiveSubscription<T>>;
  /** Closes the connection of every subscription opened through `subscribe`. */
  closeSubscriptions(): void;
  call<T = Record<string, unknown>>(query: string, options?: RequestOptions & { caller?: Caller }): ReturnType<typeof graphqlRequest<T>>;
  /** POST /internal/events with the given bearer token (identity's by default). */
  deliver(events: unknown[], token?: string | null): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Runs `work` on a direct connection to the test database (tamper tests). */
  sql<T>(work: (client: pg.Client) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export async function startAudit(adminDatabaseUrl: string, options: AuditHarnessOptions = {}): Promise<AuditHarness> {
  const shared = options.shareDatabaseWith;
  const testDb = shared ? { url: shared.databaseUrl, drop: async () => undefined } : await createTestDatabase(adminDatabaseUrl);
  const logger = createLogger(SUBGRAPH_NAME, 'silent');
  const orm = await createOrm({ url: testDb.url, logger, ...database });
  if (!shared) await migrate(orm, SUBGRAPH_NAME);
  const [key, gatewayKey, identityKey, workspacesKey, intruderKey] = await Promise.all([
    generateSigningKey(),
    generateSigningKey(),
    generateSigningKey(),
    generateSigningKey(),
    generateSigningKey(),
  ]);
  const minter = new InternalTokenMinter(gatewayKey);
  const exportDir = mkdtempSync(join(tmpdir(), 'citadel-audit-export-'));
  // Created in the tick the app subscribes to it, as main.ts does (see createAuditApp).
  const pubsub = new CountingPubSub(options.pubsub?.() ?? new MemoryPubSub());
  const app = await createAuditApp({
    orm,
    logger,
    pubsub,
    introspection: true,
    signer: new CheckpointSigner(key),
    checkpointEvery: options.checkpointEvery ?? 100,
    checkpointSeconds: 60,
    retention: { days: options.retentionDays ?? 0, exportDir },
    timers: false,
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: createLocalJWKSet(gatewayKey.jwks) }),
    verifyServiceToken: createServiceTokenVerifier({
      audience: SUBGRAPH_NAME,
      services: { identity: createLocalJWKSet(identityKey.jwks), workspaces: createLocalJWKSet(workspacesKey.jwks) },
    }),
  });
  const port = await app.server.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${port}`;
  const minters: Record<Producer, ServiceTokenMinter> = {
    identity: new ServiceTokenMinter('identity', identityKey),
    workspaces: new ServiceTokenMinter('workspaces', workspacesKey),
    intruder: new ServiceTokenMinter('identity', intruderKey),
  };
  const serviceToken = (producer: Producer = 'identity') => minters[producer].mint(SUBGRAPH_NAME);
  const subscriptions = new Set<LiveSubscription<unknown>>();
  return {
    baseUrl,
    databaseUrl: testDb.url,
    orm,
    app,
    key,
    exportDir,
    em: () => orm.em.fork() as EntityManager,
    serviceToken,
    gatewayToken: () => minter.mint(ANONYMOUS, SUBGRAPH_NAME),
    pubsubHandlers: (channel) => pubsub.handlers(channel),
    subscribe: async <T>(query: string, subscribeOptions: LiveSubscriptionOptions & { caller?: Caller } = {}) => {
      const subscription = await openLiveSubscription<T>(`ws://127.0.0.1:${port}/graphql`, query, {
        ...subscribeOptions,
        connectionToken: () => minter.mint(ANONYMOUS, SUBGRAPH_NAME),
        callerToken: () => minter.mint(subscribeOptions.caller ?? ANONYMOUS, SUBGRAPH_NAME),
      });
      subscriptions.add(subscription as LiveSubscription<unknown>);
      return subscription;
    },
    closeSubscriptions: () => {
      for (const subscription of subscriptions) subscription.close();
      subscriptions.clear();
    },
    call: async (query, requestOptions = {}) => {
      const token = await minter.mint(requestOptions.caller ?? ANONYMOUS, SUBGRAPH_NAME);
      return graphqlRequest(`${baseUrl}/graphql`, query, { ...requestOptions, token });
    },
    deliver: async (events, token) => {
      const bearer = token === undefined ? await serviceToken() : token;
      const response = await fetch(`${baseUrl}/internal/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify({ events }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    sql: (work) => withClient(testDb.url, work),
    stop: async () => {
      for (const subscription of subscriptions) subscription.close();
      subscriptions.clear();
      await app.server.close();
      await testDb.drop();
    },
  };
}

/** One audit per test file, on a fresh database. */
export function useAudit(options: AuditHarnessOptions = {}) {
  let started: AuditHarness | undefined;
  beforeAll(async () => {
    started = await startAudit(inject('adminDatabaseUrl'), options);
  });
  afterAll(async () => started?.stop());
  return new Proxy({} as AuditHarness, {
    get: (_target, property) => {
      if (!started) throw new Error('audit is not started yet: use it inside a test or hook');
      return started[property as keyof AuditHarness];
    },
  });
}

/** A caller as the gateway would describe a signed-in user. */
export function userCaller(permissions: string[] = [], userId: string = randomUUID()): Caller {
  return { userId, sessionId: randomUUID(), permissions, policies: [] };
}

/** A valid event from identity; override any field. */
export function auditEvent(overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  const userId = randomUUID();
  return {
    id: randomUUID(),
    occurredAt: new Date().toISOString(),
    service: 'identity',
    actor: { type: 'user', id: userId, sessionId: randomUUID() },
    action: 'identity.login.succeeded',
    target: { type: 'User', id: userId },
    outcome: 'success',
    reason: null,
    ip: '203.0.113.7',
    userAgent: 'vitest',
    requestId: randomUUID(),
    traceId: null,
    operationName: 'Login',
    changes: null,
    ...overrides,
  };
}
