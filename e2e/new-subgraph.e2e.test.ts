// `npm run new:subgraph`, proven on a copy of the repository (never this checkout): what it writes
// composes into the supergraph, type-checks, lints, migrates with `npm run migrate`, passes its own
// integration test on real PostgreSQL, and starts with the platform, answering through the gateway.
// A second run and a failed run change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema } from 'graphql';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '@citadel/kit/embedded-postgres';
import { createTestDatabase, withClient } from '@citadel/kit/testing/database';
import { freePort } from '@citadel/kit/testing/ports';
import { generate, REGISTRY_MARKER } from '../scripts/new-subgraph';
import { account, call, codes, eventually, ok } from './workspaces-helpers';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  output: string;
}

/** Runs `node <args>` in `cwd` and collects everything it printed. */
function node(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/**
 * The checkout's files (tracked and new, as they are now) in a temporary folder. node_modules is
 * a folder of links to this checkout's packages, except the workspace links (@citadel/*), which
 * point into the copy: the kit finds the copy's schema/ and migrations/, not this checkout's.
 */
function copyRepository(): string {
  const copy = mkdtempSync(join(tmpdir(), 'citadel-new-subgraph-'));
  try {
    fillCopy(copy);
  } catch (error) {
    rmSync(copy, { recursive: true, force: true });
    throw error;
  }
  return copy;
}

function fillCopy(copy: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0');
  for (const file of files) {
    if (!file || !existsSync(join(ROOT, file)) || !statSync(join(ROOT, file)).isFile()) continue; // deleted, or a link to a folder
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(copy, file));
  }
  mkdirSync(join(copy, 'node_modules/@citadel'), { recursive: true });
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry !== '@citadel') symlinkSync(join(ROOT, 'node_modules', entry), join(copy, 'node_modules', entry));
  }
  for (const entry of readdirSync(join(ROOT, 'node_modules/@citadel'))) {
    symlinkSync(readlinkSync(join(ROOT, 'node_modules/@citadel', entry)), join(copy, 'node_modules/@citadel', entry));
  }
  for (const workspace of ['packages/kit', 'gateway', 'clients/web', 'clients/cli']) {
    if (existsSync(join(ROOT, workspace, 'node_modules')) && existsSync(join(copy, workspace))) symlinkSync(join(ROOT, workspace, 'node_modules'), join(copy, workspace, 'node_modules'));
  }
}

interface CopyPlatform {
  gatewayUrl: string;
  /** SIGINT, as Ctrl-C; resolves with the launcher's exit code. */
  stop(): Promise<number | null>;
}

/**
 * `npm start` in the copy, on free ports, with the given PostgreSQL and no web app. Its own
 * process: the copy's kit must not load into this one beside this checkout's.
 */
async function startCopy(copy: string, databaseUrl: string): Promise<CopyPlatform> {
  const ports: Record<string, string> = {};
  for (const setting of ['GATEWAY_PORT', 'IDENTITY_PORT', 'AUTHZ_PORT', 'AUDIT_PORT', 'WORKSPACES_PORT', 'PROJECTS_PORT']) ports[setting] = String(await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'citadel-new-subgraph-data-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: copy,
    env: { ...process.env, ...ports, NODE_ENV: 'development', LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl, DATA_DIR: dataDir, WEB_APP: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    const code = await exited;
    rmSync(dataDir, { recursive: true, force: true });
    return code;
  };
  const deadline = Date.now() + 180_000;
  while (!output.includes('Citadel is ready')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`The copy's platform did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { gatewayUrl: `http://127.0.0.1:${ports.GATEWAY_PORT}`, stop };
}

describe('npm run new:subgraph in a copy of the repository', () => {
  let copy: string;
  let generated: Run;
  let adminUrl: string;
  let embedded: EmbeddedDatabase | undefined;

  beforeAll(async () => {
    copy = copyRepository();
    generated = await node(copy, ['--import', 'tsx', 'scripts/new-subgraph.ts', 'projects']);
    if (process.env.DATABASE_URL) {
      adminUrl = process.env.DATABASE_URL;
    } else {
      const dataDir = mkdtempSync(join(tmpdir(), 'citadel-new-subgraph-pg-'));
      chmodSync(dataDir, 0o755); // the postgres system user must reach it when tests run as root
      embedded = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'citadel_test' });
      adminUrl = embedded.url;
    }
  }, 180_000);

  afterAll(async () => {
    await embedded?.stop();
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('writes the subgraph, registers it, and composes it into the supergraph', () => {
    expect(generated.code, generated.output).toBe(0);
    expect(generated.output).toContain('Subgraph "projects" is ready');
    for (const file of ['subgraphs/projects/src/main.ts', 'subgraphs/projects/src/projects.permissions.ts', 'subgraphs/projects/src/projects.int.test.ts', 'migrations/projects/index.ts']) {
      expect(existsSync(join(copy, file)), file).toBe(true);
    }
    expect(readFileSync(join(copy, 'scripts/subgraphs.ts'), 'utf8')).toContain(`name: 'projects',\n    port: 4005,`);
    expect(readFileSync(join(copy, 'README.md'), 'utf8')).toContain('| `PROJECTS_HOST`, `PROJECTS_PORT`, `PROJECTS_PRIVATE_KEY` |');
    const compose = readFileSync(join(copy, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('  projects:\n    <<: *node-service\n');
    expect(compose).toContain('SUBGRAPH_PROJECTS_URL: http://projects:4005/graphql');
    expect(compose.match(/projects=http:\/\/projects:4005\/\.well-known\/jwks\.json/g)).toHaveLength(2); // authz and audit
    expect(readFileSync(join(copy, 'config/prometheus.yml'), 'utf8')).toContain('- projects:4005\n');
    expect(readFileSync(join(copy, 'config/citadel.env.example'), 'utf8')).toContain('\nPROJECTS_PRIVATE_KEY=\n');
    expect(readFileSync(join(copy, 'subgraphs/projects/Dockerfile'), 'utf8')).toContain('CMD ["node", "--import", "tsx", "subgraphs/projects/src/main.ts"]');
    const supergraph = readFileSync(join(copy, 'schema/supergraph.graphql'), 'utf8');
    expect(supergraph).toContain('PROJECTS @join__graph(name: "projects", url: "http://127.0.0.1:4005/graphql")');
    expect(supergraph).toContain('createProject(input: CreateProjectInput!): Project! @join__field(graph: PROJECTS) @requiresScopes(scopes: [["projects.project.create"]])');
    const api = buildSchema(readFileSync(join(copy, 'schema/api.graphql'), 'utf8'));
    expect(String(api.getQueryType()?.getFields().projects?.type)).toBe('ProjectConnection!');
    const accessMap = JSON.parse(readFileSync(join(copy, 'schema/access-map.json'), 'utf8')) as { coordinate: string; scopes?: string[][] }[];
    expect(accessMap.find((entry) => entry.coordinate === 'Query.projects')).toMatchObject({ scopes: [['projects.project.read']] });
    // This checkout is untouched.
    expect(existsSync(join(ROOT, 'subgraphs/projects'))).toBe(false);
  });

  it('type-checks and lints as the repository is configured', async () => {
    writeFileSync(
      join(copy, 'tsconfig.generated.json'),
      JSON.stringify({ extends: './tsconfig.json', include: ['subgraphs/projects/src', 'migrations/projects', 'scripts/subgraphs.ts', 'scripts/migrations.ts', 'packages/kit/src/testing/postgres.global-setup.ts'] }),
    );
    const tsc = await node(copy, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.generated.json']);
    expect(tsc.code, tsc.output).toBe(0);
    const eslint = await node(copy, ['node_modules/eslint/bin/eslint.js', 'subgraphs/projects', 'migrations/projects', 'scripts/subgraphs.ts']);
    expect(eslint.code, eslint.output).toBe(0);
  }, 180_000);

  it("keeps the repository's own checks green: schema/ fresh, settings documented, deployment files wired", async () => {
    const checks = ['scripts/supergraph-drift.test.ts', 'scripts/settings-documented.test.ts', 'scripts/deployment.test.ts'].filter((file) => existsSync(join(copy, file)));
    expect(checks).toContain('scripts/supergraph-drift.test.ts');
    const vitest = await node(copy, ['node_modules/vitest/vitest.mjs', 'run', '--project', 'unit', ...checks], { NO_COLOR: '1', FORCE_COLOR: '0' });
    expect(vitest.code, vitest.output).toBe(0);
  }, 180_000);

  it('passes its generated integration test against real PostgreSQL', async () => {
    const vitest = await node(copy, ['node_modules/vitest/vitest.mjs', 'run', '--project', 'integration', 'subgraphs/projects'], { DATABASE_URL: adminUrl, NO_COLOR: '1', FORCE_COLOR: '0' });
    expect(vitest.code, vitest.output).toBe(0);
    expect(vitest.output).toMatch(/Tests\s+6 passed \(6\)/);
  }, 180_000);

  it('is migrated by npm run migrate into its own schema', async () => {
    const db = await createTestDatabase(adminUrl);
    try {
      const migrate = await node(copy, ['--import', 'tsx', 'scripts/migrate.ts'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
      expect(migrate.code, migrate.output).toBe(0);
      const tables = await withClient(db.url, (client) => client.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'projects' order by table_name`));
      expect(tables.rows.map((r) => r.table_name)).toEqual(['mikro_orm_migrations', 'outbox', 'projects']);
    } finally {
      await db.drop();
    }
  }, 120_000);

  it('refuses to create it again and changes nothing', async () => {
    const registry = readFileSync(join(copy, 'scripts/subgraphs.ts'), 'utf8');
    const again = await node(copy, ['--import', 'tsx', 'scripts/new-subgraph.ts', 'projects']);
    expect(again.code).toBe(1);
    expect(again.output).toContain('subgraph "projects" exists already');
    expect(readFileSync(join(copy, 'scripts/subgraphs.ts'), 'utf8')).toBe(registry);
  }, 60_000);

  it('leaves nothing behind when a step fails', () => {
    const registryPath = join(copy, 'scripts/subgraphs.ts');
    const registry = readFileSync(registryPath, 'utf8');
    writeFileSync(registryPath, registry.replace(REGISTRY_MARKER, ''));
    const readme = readFileSync(join(copy, 'README.md'), 'utf8');
    try {
      expect(() => generate(copy, { name: 'ledger', entity: 'entry', port: 4999, compose: false }, () => undefined)).toThrow(/add the entry by hand/);
      expect(existsSync(join(copy, 'subgraphs/ledger'))).toBe(false);
      expect(existsSync(join(copy, 'migrations/ledger'))).toBe(false);
      expect(readFileSync(join(copy, 'README.md'), 'utf8')).toBe(readme);
    } finally {
      writeFileSync(registryPath, registry);
    }
  });

  it('starts with the platform and answers through the gateway', async () => {
    const db = await createTestDatabase(adminUrl);
    let platform: CopyPlatform | undefined;
    try {
      platform = await startCopy(copy, db.url);
      const gql = `${platform.gatewayUrl}/graphql`;
      const ada = await account(gql, `ada-${randomUUID()}@example.com`);
      const create = 'mutation($input: CreateProjectInput!) { createProject(input: $input) { id name } }';
      // projects registered its catalogue (role user holds both permissions) before it was ready;
      // a gateway learns of new permissions by polling authz, so the first call may still be refused.
      const created = await eventually(() => call(gql, ada.token, create, { input: { name: 'Through the gateway' } }), (body) => !body.errors);
      expect(created.errors).toBeUndefined();
      const list = '{ projects { totalCount edges { node { name } } } }';
      expect(await ok(gql, ada.token, list)).toEqual({ projects: { totalCount: 1, edges: [{ node: { name: 'Through the gateway' } }] } });
      expect(codes(await call(gql, undefined, list))).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE']);
      // Its outbox relay delivered the event, and audit accepted projects' service token for it.
      const audited = await eventually(
        () => withClient(db.url, (client) => client.query<{ actor_id: string }>(`select actor_id from audit.events where action = 'projects.project.created'`)),
        (result) => result.rows.length > 0,
      );
      expect(audited.rows).toEqual([{ actor_id: ada.id }]);
      // Ctrl-C stops every service, the new one included, cleanly.
      expect(await platform.stop()).toBe(0);
    } finally {
      await platform?.stop();
      await db.drop();
    }
  }, 240_000);
});
