// Integration harness: the real authz subgraph over HTTP on a fresh PostgreSQL database, with
// stand-in gateway and identity keys that mint real internal and service tokens.
import 'reflect-metadata';
import { afterAll, beforeAll, inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet } from 'jose';
import { ANONYMOUS, createInternalTokenVerifier, createServiceTokenVerifier, InternalTokenMinter, ServiceTokenMinter, type Caller } from '@citadel/kit/auth';
import { createOrm, migrate, type Orm } from '@citadel/kit/db';
import { generateSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { MemoryPubSub } from '@citadel/kit/pubsub';
import { createTestDatabase } from '@citadel/kit/testing/database';
import { graphqlRequest, type RequestOptions } from '@citadel/kit/testing/graphql-client';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { DeliveryRejected } from '@citadel/kit/outbox';
import { createAuthzApp, type AuthzApp } from '../app';
import type { AccessRequirement } from '../access/access-map';
import { database, SUBGRAPH_NAME } from '../schema';

export interface AuthzHarness {
  baseUrl: string;
  orm: Orm;
  app: AuthzApp;
  pubsub: MemoryPubSub;
  accessMapPath: string;
  /** Events authz's outbox relay delivered (a stand-in for audit's ingestion). */
  events: AuditEventInput[];
  /** `down`: deliveries fail as in an outage (retried without end); `rejects`: audit refuses them. */
  audit: { down: boolean; rejects: boolean };
  /** A service token as identity would mint it for authz. */
  serviceToken(service?: 'identity' | 'intruder'): Promise<string>;
  /** identity's minter, for the kit's AuthzClient. */
  identityMinter: ServiceTokenMinter;
  gatewayToken(): Promise<string>;
  call<T = Record<string, unknown>>(query: string, options?: RequestOptions & { caller?: Caller }): ReturnType<typeof graphqlRequest<T>>;
  /** POST/GET to an internal route with the given bearer token. */
  internal(path: string, token: string | null, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function startAuthz(adminDatabaseUrl: string, accessMap: AccessRequirement[] = []): Promise<AuthzHarness> {
  const testDb = await createTestDatabase(adminDatabaseUrl);
  const logger = createLogger(SUBGRAPH_NAME, 'silent');
  const orm = await createOrm({ url: testDb.url, logger, ...database });
  await migrate(orm, SUBGRAPH_NAME);
  const [gatewayKey, identityKey, intruderKey, authzKey] = await Promise.all([generateSigningKey(), generateSigningKey(), generateSigningKey(), generateSigningKey()]);
  const events: AuditEventInput[] = [];
  const audit = { down: false, rejects: false };
  const minter = new InternalTokenMinter(gatewayKey);
  const pubsub = new MemoryPubSub();
  const accessMapPath = join(mkdtempSync(join(tmpdir(), 'citadel-access-')), 'access-map.json');
  writeFileSync(accessMapPath, JSON.stringify(accessMap));
  const app = await createAuthzApp({
    orm,
    logger,
    pubsub,
    introspection: true,
    accessMapPath,
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: createLocalJWKSet(gatewayKey.jwks) }),
    verifyServiceToken: createServiceTokenVerifier({ audience: SUBGRAPH_NAME, services: { identity: createLocalJWKSet(identityKey.jwks) } }),
    key: authzKey,
    deliverEvents: async (batch) => {
      if (audit.down) throw new Error('audit is down (test)');
      if (audit.rejects) throw new DeliveryRejected('audit refused the batch (test)');
      events.push(...batch);
    },
    outboxPollMs: 20,
    outboxMaxAttempts: 2,
  });
  const port = await app.server.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    orm,
    app,
    pubsub,
    accessMapPath,
    events,
    audit,
    // An intruder signs with a key authz does not know, under identity's name.
    identityMinter: new ServiceTokenMinter('identity', identityKey),
    serviceToken: (service = 'identity') => new ServiceTokenMinter('identity', service === 'identity' ? identityKey : intruderKey).mint(SUBGRAPH_NAME),
    gatewayToken: () => minter.mint(ANONYMOUS, SUBGRAPH_NAME),
    call: async (query, options = {}) => {
      const token = await minter.mint(options.caller ?? ANONYMOUS, SUBGRAPH_NAME);
      return graphqlRequest(`${baseUrl}/graphql`, query, { ...options, token });
    },
    internal: async (path, token, body) => {
      const response = await fetch(`${baseUrl}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    stop: async () => {
      await app.server.close();
      await testDb.drop();
    },
  };
}

/** A caller as the gateway would describe a signed-in user. */
export function userCaller(permissions: string[] = [], userId: string = randomUUID()): Caller {
  return { userId, sessionId: randomUUID(), permissions, policies: [] };
}

/** One authz per test file, on a fresh database. */
export function useAuthz(accessMap: AccessRequirement[] = []) {
  let started: AuthzHarness | undefined;
  beforeAll(async () => {
    started = await startAuthz(inject('adminDatabaseUrl'), accessMap);
  });
  afterAll(async () => started?.stop());
  return new Proxy({} as AuthzHarness, {
    get: (_target, property) => {
      if (!started) throw new Error('authz is not started yet: use it inside a test or hook');
      return started[property as keyof AuthzHarness];
    },
  });
}
