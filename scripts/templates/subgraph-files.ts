// What `npm run new:subgraph` writes: a feature subgraph shaped like subgraphs/workspaces, cut down
// to one entity (create and list, guarded by its permissions, audited through the outbox).
// Each function returns one file; `\${` is text the generated file interpolates itself.

/** Every spelling of the subgraph's and its entity's names that the files use. */
export interface SubgraphNames {
  /** `inventory`: folder, Postgres schema, permission module, service and composition name. */
  name: string;
  /** `Inventory` */
  Name: string;
  /** `INVENTORY` */
  NAME: string;
  port: number;
  /** `inventory-item`: the permission resource and file names. */
  entity: string;
  /** `InventoryItem` */
  Entity: string;
  /** `inventoryItem` */
  entityCamel: string;
  /** `inventory item`, in sentences. */
  entityLabel: string;
  /** `inventory_items` */
  table: string;
  /** `inventory-items`: the entity's folder under src/. */
  entityDir: string;
  /** Query field listing the caller's items: `inventory`. */
  listField: string;
  /** `createInventoryItem` */
  createField: string;
  /** `20261126001500`, the init migration's timestamp. */
  timestamp: string;
}

export function subgraphFiles(n: SubgraphNames): Map<string, string> {
  const src = `subgraphs/${n.name}/src`;
  const dir = `${src}/${n.entityDir}`;
  return new Map([
    [`subgraphs/${n.name}/package.json`, packageJson(n)],
    [`${src}/env.ts`, envTs(n)],
    [`${src}/main.ts`, mainTs(n)],
    [`${src}/app.ts`, appTs(n)],
    [`${src}/schema.ts`, schemaTs(n)],
    [`${src}/${n.name}.permissions.ts`, permissionsTs(n)],
    [`${src}/${n.name}.errors.ts`, errorsTs(n)],
    [`${src}/${n.name}.context.ts`, contextTs(n)],
    [`${dir}/${n.entity}.entity.ts`, entityTs(n)],
    [`${dir}/${n.entity}.type.ts`, typeTs(n)],
    [`${dir}/${n.entity}.inputs.ts`, inputsTs(n)],
    [`${dir}/${n.entity}.service.ts`, serviceTs(n)],
    [`${dir}/${n.entity}.resolver.ts`, resolverTs(n)],
    [`${src}/testing/${n.name}-harness.ts`, harnessTs(n)],
    [`${src}/${n.entityDir}.int.test.ts`, intTestTs(n)],
    [`migrations/${n.name}/index.ts`, migrationsIndexTs(n)],
    [`migrations/${n.name}/Migration${n.timestamp}_init.ts`, initMigrationTs(n)],
  ]);
}

const packageJson = (n: SubgraphNames) => `${JSON.stringify(
  { name: `@citadel/${n.name}`, private: true, version: '0.1.0', type: 'module', scripts: { start: 'tsx src/main.ts' }, dependencies: { '@citadel/kit': '*' } },
  null,
  2,
)}
`;

const envTs = (n: SubgraphNames) => `// The ${n.name} subgraph's settings; the only reader of process.env in this service.
import { join } from 'node:path';
import { databaseSettings } from '@citadel/kit/db';
import { bool, logLevel, nodeEnv, parseEnv, port, postgresUrl, z } from '@citadel/kit/env';
import { DATA_DIR } from '@citadel/kit/paths';

export const env = parseEnv({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  ${n.NAME}_HOST: z.string().default('127.0.0.1'),
  ${n.NAME}_PORT: port(${n.port}),
  DATABASE_URL: postgresUrl,
  ...databaseSettings,
  KEYS_DIR: z.string().default(join(DATA_DIR, 'keys')),
  ${n.NAME}_PRIVATE_KEY: z.string().optional(),
  AUTHZ_URL: z.string().url().default('http://127.0.0.1:4002'),
  AUDIT_URL: z.string().url().default('http://127.0.0.1:4003'),
  INTERNAL_JWKS_URL: z.string().url().default('http://127.0.0.1:4000/.well-known/jwks.json'),
  REDIS_URL: z.string().url().optional(),
  INTROSPECTION: bool(false),
});
`;

const mainTs = (n: SubgraphNames) => `// ${n.Name} subgraph start-up, in order: env, logger, key, database, app, catalogue, listen.
import 'reflect-metadata';
import { createInternalTokenVerifier, ServiceTokenMinter } from '@citadel/kit/auth';
import { auditDelivery } from '@citadel/kit/audit-client';
import { AuthzClient } from '@citadel/kit/authz-client';
import { createOrm, databaseLimits } from '@citadel/kit/db';
import { loadSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { createPubSub } from '@citadel/kit/pubsub';
import { listenOrExit, onShutdownSignal } from '@citadel/kit/server';
import { create${n.Name}App } from './app';
import { env } from './env';
import { ${n.NAME}_PERMISSIONS } from './${n.name}.permissions';
import { database, SUBGRAPH_NAME } from './schema';

async function main(): Promise<void> {
  const logger = createLogger(SUBGRAPH_NAME, env.LOG_LEVEL);
  const key = await loadSigningKey({ name: SUBGRAPH_NAME, pem: env.${n.NAME}_PRIVATE_KEY, dir: env.KEYS_DIR, generate: env.NODE_ENV !== 'production' });
  const orm = await createOrm({ url: env.DATABASE_URL, logger, limits: databaseLimits(env), ...database });
  const serviceTokens = new ServiceTokenMinter(SUBGRAPH_NAME, key);
  const authz = new AuthzClient({ url: env.AUTHZ_URL, minter: serviceTokens, logger });
  let registered = false;
  const { server } = await create${n.Name}App({
    orm,
    logger,
    pubsub: createPubSub(env.REDIS_URL, logger),
    introspection: env.NODE_ENV !== 'production' || env.INTROSPECTION,
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: env.INTERNAL_JWKS_URL }),
    key,
    deliverEvents: auditDelivery({ url: env.AUDIT_URL, minter: serviceTokens }),
    catalogueRegistered: () => registered,
  });
  // authz may start after ${n.name}: registration retries in the background until it is accepted.
  const registration = authz.registerCatalogue(${n.NAME}_PERMISSIONS);
  void registration.registered.then(() => (registered = true));
  onShutdownSignal(logger, async () => {
    registration.stop();
    await server.close();
  });
  await listenOrExit(server, { host: env.${n.NAME}_HOST, port: env.${n.NAME}_PORT, setting: '${n.NAME}_PORT' }, logger, () => orm.close());
}

main().catch((error: unknown) => {
  process.stderr.write(\`${n.name} failed to start: \${error instanceof Error ? error.stack : String(error)}\\n\`);
  process.exit(1);
});
`;

const appTs = (n: SubgraphNames) => `// Wires the ${n.name} subgraph from its parts; main.ts and the integration tests both use it.
import type { AuditEventInput } from '@citadel/kit/audit-event';
import type { Caller } from '@citadel/kit/auth';
import { databaseReady, type Orm } from '@citadel/kit/db';
import { sendJson } from '@citadel/kit/http';
import type { SigningKey } from '@citadel/kit/keys';
import type { Logger } from '@citadel/kit/logger';
import { Outbox, OutboxRelay } from '@citadel/kit/outbox';
import type { PubSub } from '@citadel/kit/pubsub';
import { createServiceServer, type ServiceServer } from '@citadel/kit/server';
import { createSubgraphEndpoint } from '@citadel/kit/subgraph';
import { extendContext } from './${n.name}.context';
import { ${n.Entity}Service } from './${n.entityDir}/${n.entity}.service';
import { build${n.Name}Schema, SUBGRAPH_NAME } from './schema';

export interface ${n.Name}AppOptions {
  orm: Orm;
  logger: Logger;
  pubsub: PubSub;
  introspection: boolean;
  verifyInternalToken: (authorization: string | undefined) => Promise<Caller>;
  /** ${n.name}'s own key: its JWKS, and its service tokens to authz and audit. */
  key: SigningKey;
  /** Hands a batch of outbox events to audit (auditDelivery); throws when not accepted. */
  deliverEvents: (events: AuditEventInput[]) => Promise<void>;
  outboxPollMs?: number;
  /** Failed deliveries before an event is parked as dead (default 10). */
  outboxMaxAttempts?: number;
  /** Whether the permission catalogue is registered with authz: not ready until it is. */
  catalogueRegistered?: () => boolean;
}

export interface ${n.Name}App {
  server: ServiceServer;
  ${n.entityCamel}s: ${n.Entity}Service;
  relay: OutboxRelay;
}

export async function create${n.Name}App(options: ${n.Name}AppOptions): Promise<${n.Name}App> {
  const { orm, logger } = options;
  const outbox = new Outbox(SUBGRAPH_NAME);
  const relay = new OutboxRelay({ orm, schema: SUBGRAPH_NAME, logger, deliver: options.deliverEvents, pubsub: options.pubsub, pollMs: options.outboxPollMs ?? 1_000, maxAttempts: options.outboxMaxAttempts ?? 10 });
  const ${n.entityCamel}s = new ${n.Entity}Service(outbox);
  const schema = await build${n.Name}Schema({ ${n.entityCamel}s, relay: () => relay });
  const endpoint = await createSubgraphEndpoint({
    schema,
    orm,
    logger,
    introspection: options.introspection,
    verifyInternalToken: options.verifyInternalToken,
    extendContext,
  });
  const server = createServiceServer({
    service: SUBGRAPH_NAME,
    logger,
    routes: { '/graphql': endpoint.route, '/.well-known/jwks.json': (_req, res) => sendJson(res, 200, options.key.jwks) },
    ready: async () => (options.catalogueRegistered?.() ?? true) && (await databaseReady(orm)),
    onClose: async () => {
      await endpoint.stop();
      await relay.stop();
      await options.pubsub.close();
      await orm.close();
    },
  });
  relay.useMetrics(server.metrics.registry);
  relay.start();
  return { server, ${n.entityCamel}s, relay };
}
`;

const schemaTs = (n: SubgraphNames) => `// The ${n.name} subgraph's schema: the explicit list of resolvers and entities.
import { buildFederatedSchema } from '@citadel/kit/federation';
import { OutboxEntrySchema, type OutboxRelay } from '@citadel/kit/outbox';
import { outboxAdminResolver } from '@citadel/kit/outbox-admin';
import { migrationsDir } from '@citadel/kit/paths';
import type { GraphQLSchema } from 'graphql';
import { ${n.name}Migrations } from '../../../migrations/${n.name}';
import { ${n.Entity}Entity } from './${n.entityDir}/${n.entity}.entity';
import { ${n.Entity}Resolver } from './${n.entityDir}/${n.entity}.resolver';
import type { ${n.Entity}Service } from './${n.entityDir}/${n.entity}.service';

export const SUBGRAPH_NAME = '${n.name}';

export const database = {
  schema: SUBGRAPH_NAME,
  entities: [${n.Entity}Entity, OutboxEntrySchema],
  migrations: ${n.name}Migrations,
  migrationsPath: migrationsDir(SUBGRAPH_NAME),
};

export interface ${n.Name}Services {
  ${n.entityCamel}s: ${n.Entity}Service;
  /** The outbox relay, for the dead-event admin fields (read when one is used). */
  relay: () => OutboxRelay;
}

export function build${n.Name}Schema(services: ${n.Name}Services): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [new ${n.Entity}Resolver(services.${n.entityCamel}s), outboxAdminResolver(SUBGRAPH_NAME, services.relay)],
  });
}
`;

const permissionsTs = (n: SubgraphNames) => `// The ${n.name} subgraph's permission catalogue, registered with authz at start-up. Every account
// holds \`user\`, so anyone signed in may create ${n.entityLabel}s and list their own.
import { definePermissions } from '@citadel/kit/permissions';

export const ${n.NAME}_PERMISSIONS = definePermissions({
  module: '${n.name}',
  permissions: {
    '${n.name}.${n.entity}.create': 'Create ${n.entityLabel}s',
    '${n.name}.${n.entity}.read': 'List the ${n.entityLabel}s you created',
  },
  roles: {
    user: ['${n.name}.${n.entity}.create', '${n.name}.${n.entity}.read'],
  },
});

export type ${n.Name}Permission = keyof typeof ${n.NAME}_PERMISSIONS.permissions;
`;

const errorsTs = (n: SubgraphNames) => `// Error codes the ${n.name} subgraph promises to clients (list new ones in docs/errors.md).
import { AppError, COMMON_ERRORS } from '@citadel/kit/errors';

export const ${n.NAME}_ERRORS = {
  BAD_USER_INPUT: COMMON_ERRORS.BAD_USER_INPUT,
  UNAUTHENTICATED: COMMON_ERRORS.UNAUTHENTICATED,
} as const;

export const invalidName = (max: number) =>
  new AppError(${n.NAME}_ERRORS.BAD_USER_INPUT, \`\\\`name\\\` must be 1 to \${max} characters\`, { field: 'name' });
`;

const contextTs = (n: SubgraphNames) => `// The ${n.name} subgraph's per-request context (add per-request DataLoaders here).
import { unauthenticated } from '@citadel/kit/errors';
import type { SubgraphContext } from '@citadel/kit/subgraph';

export type ${n.Name}Context = SubgraphContext;

export const extendContext = (base: SubgraphContext): ${n.Name}Context => base;

/** The signed-in user's id, or UNAUTHENTICATED. */
export function requireUser(ctx: ${n.Name}Context): string {
  if (!ctx.caller.userId) throw unauthenticated();
  return ctx.caller.userId;
}
`;

const entityTs = (n: SubgraphNames) => `// A ${n.entityLabel}, owned by the user who created it.
import { EntitySchema } from '@mikro-orm/postgresql';

export class ${n.Entity} {
  id!: string;
  name!: string;
  createdBy!: string;
  createdAt: Date = new Date();
}

export const ${n.Entity}Entity = new EntitySchema<${n.Entity}>({
  class: ${n.Entity},
  tableName: '${n.table}',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string', length: 200 },
    createdBy: { type: 'uuid' },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
  },
});
`;

const typeTs = (n: SubgraphNames) => `// GraphQL types of ${n.entityLabel}s and their connection.
import { ConnectionType, EdgeType } from '@citadel/kit/connection';
import { GraphQLDateTime } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import type { ${n.Entity} } from './${n.entity}.entity';

@ObjectType('${n.Entity}')
export class ${n.Entity}Type {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  static from(row: ${n.Entity}): ${n.Entity}Type {
    return Object.assign(new ${n.Entity}Type(), { id: row.id, name: row.name, createdAt: row.createdAt });
  }
}

@ObjectType('${n.Entity}Edge')
export class ${n.Entity}EdgeType extends EdgeType(${n.Entity}Type) {}

@ObjectType('${n.Entity}Connection')
export class ${n.Entity}ConnectionType extends ConnectionType(${n.Entity}EdgeType) {}
`;

const inputsTs = (n: SubgraphNames) => `// Inputs of the ${n.entityLabel} mutations.
import { Field, InputType } from 'type-graphql';

@InputType('Create${n.Entity}Input')
export class Create${n.Entity}Input {
  @Field(() => String, { description: '1 to 200 characters; surrounding spaces are dropped.' })
  name!: string;
}
`;

const serviceTs = (n: SubgraphNames) => `// ${n.Entity} use cases: create one (and its audit event, in one transaction), list the caller's own
// as a keyset page in (created_at, id) order.
import { randomUUID } from 'node:crypto';
import { decodeCursor, encodeCursor, pageSize, parseTimeIdPosition, timeIdPositionSql, toPage, type Page } from '@citadel/kit/connection';
import type { Outbox } from '@citadel/kit/outbox';
import type { EntityManager } from '@mikro-orm/postgresql';
import { invalidName } from '../${n.name}.errors';
import { ${n.Entity}Entity, type ${n.Entity} } from './${n.entity}.entity';

const MAX_NAME_LENGTH = 200;
const POSITION_SQL = timeIdPositionSql('t."created_at"');

export class ${n.Entity}Service {
  constructor(private readonly outbox: Outbox) {}

  async create(em: EntityManager, actorId: string, input: { name: string }): Promise<${n.Entity}> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) throw invalidName(MAX_NAME_LENGTH);
    return em.transactional(async (tx) => {
      const id = randomUUID();
      const row = tx.create(${n.Entity}Entity, { id, name, createdBy: actorId, createdAt: new Date() });
      this.outbox.add(tx, { action: '${n.name}.${n.entity}.created', target: { type: '${n.Entity}', id }, changes: { after: { name } } });
      return row;
    });
  }

  async listOwn(em: EntityManager, ownerId: string, first: number, after: string | null | undefined): Promise<Page<${n.Entity}>> {
    const size = pageSize(first);
    const position = after != null ? decodeCursor(after, parseTimeIdPosition) : null;
    const conditions = ['t."created_by" = ?', ...(position ? ['(t."created_at", t."id") > (?::timestamptz, ?::uuid)'] : [])];
    const rows = await em.execute<(Record<string, unknown> & { position: string; id: string })[]>(
      \`select t.*, \${POSITION_SQL} as "position" from "${n.name}"."${n.table}" t
        where \${conditions.join(' and ')} order by t."created_at", t."id" limit ?\`,
      [ownerId, ...(position ?? []), size + 1],
    );
    const [{ count }] = await em.execute<[{ count: number }]>(\`select count(*)::int as "count" from "${n.name}"."${n.table}" t where t."created_by" = ?\`, [ownerId]);
    return toPage(rows, size, count, (row) => encodeCursor([row.position, row.id]), (row) => {
      const { position: _position, ...columns } = row;
      return em.map(${n.Entity}Entity, columns);
    });
  }
}
`;

const resolverTs = (n: SubgraphNames) => `// ${n.Entity} queries and mutations: the gateway (and this subgraph again) checks the permission
// directives; the service keeps each caller to their own ${n.entityLabel}s.
import { DEFAULT_PAGE_SIZE, mapPage } from '@citadel/kit/connection';
import { requiresScopes } from '@citadel/kit/permissions';
import { Arg, Ctx, Directive, Int, Mutation, Query, Resolver } from 'type-graphql';
import { requireUser, type ${n.Name}Context } from '../${n.name}.context';
import type { ${n.Name}Permission } from '../${n.name}.permissions';
import { Create${n.Entity}Input } from './${n.entity}.inputs';
import type { ${n.Entity}Service } from './${n.entity}.service';
import { ${n.Entity}ConnectionType, ${n.Entity}Type } from './${n.entity}.type';

@Resolver(() => ${n.Entity}Type)
export class ${n.Entity}Resolver {
  constructor(private readonly service: ${n.Entity}Service) {}

  @Query(() => ${n.Entity}ConnectionType, { description: 'The ${n.entityLabel}s you created, oldest first.' })
  @Directive(requiresScopes<${n.Name}Permission>('${n.name}.${n.entity}.read'))
  async ${n.listField}(
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE_SIZE }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ${n.Name}Context,
  ): Promise<${n.Entity}ConnectionType> {
    return mapPage(await this.service.listOwn(ctx.em, requireUser(ctx), first, after), ${n.Entity}Type.from);
  }

  @Mutation(() => ${n.Entity}Type)
  @Directive(requiresScopes<${n.Name}Permission>('${n.name}.${n.entity}.create'))
  async ${n.createField}(@Arg('input', () => Create${n.Entity}Input) input: Create${n.Entity}Input, @Ctx() ctx: ${n.Name}Context): Promise<${n.Entity}Type> {
    return ${n.Entity}Type.from(await this.service.create(ctx.em, requireUser(ctx), input));
  }
}
`;

const harnessTs = (n: SubgraphNames) => `// Integration harness: the real ${n.name} subgraph over HTTP on a fresh PostgreSQL database, with a
// stand-in gateway key (it mints the internal tokens) and a recorder in place of audit.
import 'reflect-metadata';
import { afterAll, beforeAll, inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet } from 'jose';
import { ANONYMOUS, createInternalTokenVerifier, InternalTokenMinter, type Caller } from '@citadel/kit/auth';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { createOrm, migrate, type Orm } from '@citadel/kit/db';
import { generateSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { MemoryPubSub } from '@citadel/kit/pubsub';
import { createTestDatabase } from '@citadel/kit/testing/database';
import { graphqlRequest, type RequestOptions } from '@citadel/kit/testing/graphql-client';
import { create${n.Name}App, type ${n.Name}App } from '../app';
import { ${n.NAME}_PERMISSIONS } from '../${n.name}.permissions';
import { database, SUBGRAPH_NAME } from '../schema';

export interface ${n.Name}Harness {
  orm: Orm;
  app: ${n.Name}App;
  call<T = Record<string, unknown>>(query: string, options?: RequestOptions & { caller?: Caller }): ReturnType<typeof graphqlRequest<T>>;
  /** Delivers what is staged now and returns every event delivered so far (a stand-in for audit). */
  deliveredEvents(): Promise<AuditEventInput[]>;
  stop(): Promise<void>;
}

export async function start${n.Name}(adminDatabaseUrl: string): Promise<${n.Name}Harness> {
  const testDb = await createTestDatabase(adminDatabaseUrl);
  const logger = createLogger(SUBGRAPH_NAME, 'silent');
  const orm = await createOrm({ url: testDb.url, logger, ...database });
  await migrate(orm, SUBGRAPH_NAME);
  const [gatewayKey, key] = await Promise.all([generateSigningKey(), generateSigningKey()]);
  const minter = new InternalTokenMinter(gatewayKey);
  const events: AuditEventInput[] = [];
  const app = await create${n.Name}App({
    orm,
    logger,
    pubsub: new MemoryPubSub(),
    introspection: true,
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: createLocalJWKSet(gatewayKey.jwks) }),
    key,
    deliverEvents: async (batch) => {
      events.push(...batch);
    },
    outboxPollMs: 20,
  });
  const port = await app.server.listen(0, '127.0.0.1');
  return {
    orm,
    app,
    call: async (query, options = {}) => {
      const token = await minter.mint(options.caller ?? ANONYMOUS, SUBGRAPH_NAME);
      return graphqlRequest(\`http://127.0.0.1:\${port}/graphql\`, query, { ...options, token });
    },
    deliveredEvents: async () => {
      await app.relay.settle();
      return events;
    },
    stop: async () => {
      await app.server.close();
      await testDb.drop();
    },
  };
}

/** A signed-in user as the gateway describes one: every account holds role \`user\`. */
export function userCaller(userId: string = randomUUID()): Caller {
  return { userId, sessionId: randomUUID(), permissions: [...(${n.NAME}_PERMISSIONS.roles.user ?? [])], policies: [] };
}

/** One ${n.name} subgraph per test file, on a fresh database. */
export function use${n.Name}(): ${n.Name}Harness {
  let started: ${n.Name}Harness | undefined;
  beforeAll(async () => {
    started = await start${n.Name}(inject('adminDatabaseUrl'));
  });
  afterAll(async () => {
    await started?.stop();
  });
  const get = (): ${n.Name}Harness => {
    if (!started) throw new Error('the ${n.name} harness is used before beforeAll ran');
    return started;
  };
  return {
    get orm() {
      return get().orm;
    },
    get app() {
      return get().app;
    },
    call: (query, options) => get().call(query, options),
    deliveredEvents: () => get().deliveredEvents(),
    stop: () => get().stop(),
  };
}
`;

const intTestTs = (n: SubgraphNames) => `// ${n.Entity}s against real PostgreSQL: create and list your own, the permission each needs, bad
// input, pagination, and the audit event every creation stages.
import { describe, expect, it } from 'vitest';
import { ANONYMOUS } from '@citadel/kit/auth';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { use${n.Name}, userCaller } from './testing/${n.name}-harness';

const h = use${n.Name}();

const CREATE = 'mutation($input: Create${n.Entity}Input!) { ${n.createField}(input: $input) { id name createdAt } }';
const LIST = 'query($first: Int, $after: String) { ${n.listField}(first: $first, after: $after) { totalCount edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }';

type Created = { ${n.createField}: { id: string; name: string } };
type Listed = { ${n.listField}: { totalCount: number; edges: { node: { id: string; name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

describe('${n.createField} and ${n.listField}', () => {
  it('creates one ${n.entityLabel} that its creator then lists', async () => {
    const ada = userCaller();
    const created = await h.call<Created>(CREATE, { caller: ada, variables: { input: { name: '  First  ' } } });
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data?.${n.createField}.name).toBe('First');
    const listed = await h.call<Listed>(LIST, { caller: ada });
    expect(listed.body.data?.${n.listField}).toMatchObject({ totalCount: 1, edges: [{ node: { id: created.body.data?.${n.createField}.id, name: 'First' } }] });
  });

  it('lists only the caller\\'s own ${n.entityLabel}s', async () => {
    const [ada, bob] = [userCaller(), userCaller()];
    await h.call(CREATE, { caller: ada, variables: { input: { name: 'Ada\\'s' } } });
    const listed = await h.call<Listed>(LIST, { caller: bob });
    expect(listed.body.data?.${n.listField}).toEqual({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('pages in creation order with the cursor of the last edge', async () => {
    const ada = userCaller();
    for (const name of ['one', 'two', 'three']) await h.call(CREATE, { caller: ada, variables: { input: { name } } });
    const first = await h.call<Listed>(LIST, { caller: ada, variables: { first: 2 } });
    expect(first.body.data?.${n.listField}.edges.map((e) => e.node.name)).toEqual(['one', 'two']);
    expect(first.body.data?.${n.listField}.pageInfo.hasNextPage).toBe(true);
    const next = await h.call<Listed>(LIST, { caller: ada, variables: { first: 2, after: first.body.data?.${n.listField}.pageInfo.endCursor } });
    expect(next.body.data?.${n.listField}.edges.map((e) => e.node.name)).toEqual(['three']);
    expect(errorCode(await h.call(LIST, { caller: ada, variables: { after: 'bm9wZQ' } }))).toBe('BAD_USER_INPUT');
  });

  it('refuses a blank or overlong name with BAD_USER_INPUT', async () => {
    const ada = userCaller();
    expect(errorCode(await h.call(CREATE, { caller: ada, variables: { input: { name: '   ' } } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.call(CREATE, { caller: ada, variables: { input: { name: 'x'.repeat(201) } } }))).toBe('BAD_USER_INPUT');
    expect((await h.call<Listed>(LIST, { caller: ada })).body.data?.${n.listField}.totalCount).toBe(0);
  });

  it('stages one audit event per ${n.entityLabel} created', async () => {
    const ada = userCaller();
    const created = await h.call<Created>(CREATE, { caller: ada, variables: { input: { name: 'Audited' } } });
    const id = created.body.data?.${n.createField}.id;
    const events = (await h.deliveredEvents()).filter((e) => e.target?.id === id);
    expect(events).toMatchObject([{ action: '${n.name}.${n.entity}.created', actor: { id: ada.userId }, changes: { after: { name: 'Audited' } } }]);
  });
});

// Threat: a caller whose permissions were taken away (or who is not signed in) still reaching the
// subgraph directly, without the gateway's filtering.
describe('permissions', () => {
  it('refuses each field to a caller without its permission, and to anonymous callers', async () => {
    const readOnly = { ...userCaller(), permissions: ['${n.name}.${n.entity}.read'] };
    expect(errorCode(await h.call(CREATE, { caller: readOnly, variables: { input: { name: 'x' } } }))).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    const createOnly = { ...userCaller(), permissions: ['${n.name}.${n.entity}.create'] };
    expect(errorCode(await h.call(LIST, { caller: createOnly }))).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    expect(errorCode(await h.call(LIST, { caller: ANONYMOUS }))).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
  });
});
`;

const migrationsIndexTs = (n: SubgraphNames) => `// ${n.Name}'s migrations, in order. Listed explicitly so they load the same under tsx, vitest and node.
import { Migration${n.timestamp}_init } from './Migration${n.timestamp}_init';

export const ${n.name}Migrations = [{ name: 'Migration${n.timestamp}_init', class: Migration${n.timestamp}_init }];
`;

const initMigrationTs = (n: SubgraphNames) => `// ${n.Name}, first schema: ${n.entityLabel}s and the transactional outbox its relay delivers to audit.
import { Migration } from '@mikro-orm/migrations';
import { outboxTableSql } from '@citadel/kit/outbox';

export class Migration${n.timestamp}_init extends Migration {
  override async up(): Promise<void> {
    this.addSql(\`
      create table "${n.name}"."${n.table}" (
        "id" uuid primary key,
        "name" varchar(200) not null,
        "created_by" uuid not null,
        "created_at" timestamptz not null default now()
      );\`);
    // ${n.listField} pages a creator's rows in (created_at, id) order.
    this.addSql(\`create index "${n.table}_created_by_created_index" on "${n.name}"."${n.table}" ("created_by", "created_at", "id");\`);
    for (const sql of outboxTableSql('${n.name}')) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "${n.name}"."outbox";');
    this.addSql('drop table if exists "${n.name}"."${n.table}";');
  }
}
`;
