// Integration harness: the real identity subgraph over HTTP on a fresh PostgreSQL database,
// with a stand-in gateway key that mints real internal tokens.
import 'reflect-metadata';
import { afterAll, beforeAll, inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { ANONYMOUS, createInternalTokenVerifier, createServiceTokenVerifier, InternalTokenMinter, ServiceTokenMinter, type Caller } from '@citadel/kit/auth';
import { createOrm, migrate, type Orm } from '@citadel/kit/db';
import { generateSigningKey, type SigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { MemoryPubSub } from '@citadel/kit/pubsub';
import { MemoryCounterStore } from '@citadel/kit/counters';
import { MailboxMailer } from '@citadel/kit/mailer';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@citadel/kit/testing/database';
import { graphqlRequest, type RequestOptions } from '@citadel/kit/testing/graphql-client';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { createIdentityApp } from '../app';
import { database, SUBGRAPH_NAME } from '../schema';

export const REFRESH_GRACE_SECONDS = 10;
export const JWT = { issuer: 'citadel-identity', audience: 'citadel', accessTokenTtlSeconds: 900, refreshTokenTtlDays: 30 };

const newKey = generateSigningKey;

export interface IdentityHarness {
  url: string;
  /** The test file's own database. */
  dbUrl: string;
  orm: Orm;
  identityKey: SigningKey;
  /** The development mailbox this identity writes to. */
  mailboxDir: string;
  /** What identity publishes (in memory, in this process). */
  pubsub: MemoryPubSub;
  /** Global permissions per user id, as authz would answer (users not listed hold none). */
  permissions: Map<string, string[]>;
  /** Events identity's outbox relay delivered (a stand-in for audit's ingestion). */
  events: AuditEventInput[];
  /** The first delivered event with this action (and matching), waiting up to 3 s for it. */
  waitForEvent(action: string, match?: (event: AuditEventInput) => boolean): Promise<AuditEventInput>;
  /** The caller the gateway would derive from one of this identity's access tokens. */
  callerFor(accessToken: string): Promise<Caller>;
  /** Mints a service token as that platform service would (only `workspaces` is allowed to call identity here). */
  serviceToken(service: 'workspaces' | 'audit', audience?: string): Promise<string>;
  /** Mints an internal token as the gateway would, for requests outside /graphql. */
  internalToken(caller?: Caller): Promise<string>;
  /** Calls identity's /graphql as the gateway would, for `caller`. */
  call<T = Record<string, unknown>>(
    query: string,
    options?: RequestOptions & { caller?: Caller },
  ): ReturnType<typeof graphqlRequest<T>>;
  stop(): Promise<void>;
}

export async function startIdentity(adminDatabaseUrl: string, options: { revealTakenEmail?: boolean } = {}): Promise<IdentityHarness> {
  const testDb = await createTestDatabase(adminDatabaseUrl);
  const logger = createLogger(SUBGRAPH_NAME, 'silent');
  const orm = await createOrm({ url: testDb.url, logger, ...database });
  await migrate(orm, SUBGRAPH_NAME);
  const identityKey = await newKey();
  const gatewayKey = await newKey();
  const minter = new InternalTokenMinter(gatewayKey);
  // workspaces is an allowed caller; audit has a key of its own but is not on identity's list.
  const [workspacesKey, auditKey] = await Promise.all([newKey(), newKey()]);
  const services = { workspaces: new ServiceTokenMinter('workspaces', workspacesKey), audit: new ServiceTokenMinter('audit', auditKey) };
  const pubsub = new MemoryPubSub();
  const mailboxDir = mkdtempSync(join(tmpdir(), 'citadel-mail-'));
  const mfaKey = randomBytes(32);
  const events: AuditEventInput[] = [];
  const permissions = new Map<string, string[]>();
  const server = await createIdentityApp({
    permissionsOf: async (userId) => permissions.get(userId) ?? [],
    orm,
    logger,
    key: identityKey,
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: createLocalJWKSet(gatewayKey.jwks) }),
    verifyServiceToken: createServiceTokenVerifier({ audience: SUBGRAPH_NAME, services: { workspaces: createLocalJWKSet(workspacesKey.jwks) } }),
    jwt: JWT,
    refreshTokenKey: randomBytes(32),
    refreshGraceSeconds: REFRESH_GRACE_SECONDS,
    passwordHashConcurrency: 2,
    passwordHashQueue: 100,
    introspection: true,
    pubsub,
    counters: new MemoryCounterStore(),
    // Every harness request comes from one IP: the per-IP limit is exercised in its own unit test.
    loginThrottle: { maxAttemptsPerAccount: 10, maxAttemptsPerIp: 100_000, windowSeconds: 900, baseDelayMs: 1, maxDelayMs: 20 },
    mailer: new MailboxMailer(mailboxDir, 'Citadel <test@citadel.local>', logger),
    account: { appUrl: 'http://app.test', mailsPerHour: 3, maxAttempts: 10 },
    revealTakenEmail: options.revealTakenEmail ?? false,
    deliverEvents: async (batch) => {
      events.push(...batch);
    },
    outboxPollMs: 20,
    mfa: { encryptionKey: mfaKey, issuer: 'Citadel', challengeTtlSeconds: 300, maxAttempts: 5, maxAttemptsPerUser: 10, windowSeconds: 900, reauthSeconds: 600 },
  });
  const port = await server.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}/graphql`;
  return {
    url,
    permissions,
    dbUrl: testDb.url,
    orm,
    identityKey,
    pubsub,
    events,
    waitForEvent: async (action, match = () => true) => {
      const deadline = Date.now() + 3_000;
      for (;;) {
        const found = events.find((e) => e.action === action && match(e));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no ${action} event delivered; got ${events.map((e) => e.action).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    mailboxDir,
    serviceToken: (service, audience = SUBGRAPH_NAME) => services[service].mint(audience),
    internalToken: (caller = ANONYMOUS) => minter.mint(caller, SUBGRAPH_NAME),
    callerFor: async (accessToken) => {
      const { payload } = await jwtVerify(accessToken, createLocalJWKSet(identityKey.jwks));
      return { userId: String(payload.sub), sessionId: String(payload.sid), permissions: [], policies: [] };
    },
    call: async (query, options = {}) => {
      const token = await minter.mint(options.caller ?? ANONYMOUS, SUBGRAPH_NAME);
      const headers = { 'x-citadel-client-ip': '203.0.113.7', 'x-citadel-user-agent': 'harness/1.0', ...options.headers };
      return graphqlRequest(url, query, { ...options, headers, token });
    },
    stop: async () => {
      await server.close();
      await testDb.drop();
    },
  };
}

/** Seed builders: real accounts made through the API. */
export function seeds(identity: IdentityHarness) {
  let n = 0;
  return {
    async user(overrides: { email?: string; password?: string; name?: string } = {}) {
      n++;
      const email = overrides.email ?? `user${n}-${Date.now()}@example.com`;
      const password = overrides.password ?? `a long passphrase ${n}`;
      const registered = await identity.call<{ register: { id: string } }>(
        'mutation($input: RegisterInput!) { register(input: $input) { id } }',
        { variables: { input: { email, password, name: overrides.name ?? `User ${n}` } } },
      );
      if (!registered.body.data) throw new Error(`seed.user failed: ${JSON.stringify(registered.body.errors)}`);
      const login = await identity.call<{ login: { accessToken: string; refreshToken: string } }>(
        'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }',
        { variables: { input: { email, password } } },
      );
      if (!login.body.data) throw new Error(`seed.user login failed: ${JSON.stringify(login.body.errors)}`);
      return { id: registered.body.data.register.id, email, password, ...login.body.data.login };
    },
  };
}

/**
 * One identity per test file, on a fresh database: started before the file's tests, stopped after.
 * The returned `identity` forwards to it once started, so tests can use it at module scope.
 */
export function useIdentity(options: { revealTakenEmail?: boolean } = {}) {
  let started: IdentityHarness | undefined;
  beforeAll(async () => {
    started = await startIdentity(inject('adminDatabaseUrl'), options);
  });
  afterAll(async () => started?.stop());
  const identity = new Proxy({} as IdentityHarness, {
    get: (_target, property) => {
      if (!started) throw new Error('identity is not started yet: use it inside tests or hooks');
      return started[property as keyof IdentityHarness];
    },
  });
  return { identity, seed: seeds(identity) };
}
