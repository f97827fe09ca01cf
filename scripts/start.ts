// `npm start`: the whole platform on one machine. Database (embedded unless DATABASE_URL is set),
// migrations, development keys, then identity, authz, audit, the feature subgraphs (scripts/subgraphs.ts) and the
// gateway as separate processes, and once the gateway is ready the web app's development server
// (scripts/web-app.ts; WEB_APP=off skips it).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { loadSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { REPO_ROOT } from '@citadel/kit/paths';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '@citadel/kit/embedded-postgres';
import { featureServices, keysDir, launcherEnv as env } from './launcher-env';
import { migrateAll } from './migrations';
import { seedDevelopmentAdmin } from './platform-admin';
import { assertPortFree } from './ports';
import { featureSettings } from './subgraphs';
import { startWebApp, type WebApp } from './web-app';

const logger = createLogger('launcher', env.LOG_LEVEL);
const children: { name: string; process: ChildProcess }[] = [];
let database: EmbeddedDatabase | undefined;
let webApp: WebApp | undefined;
let stopping: Promise<void> | undefined;

interface ServiceSpec {
  name: string;
  dir: string;
  host: string;
  port: number;
  portSetting: string;
}

const ALL_SERVICES: ServiceSpec[] = [
  { name: 'identity', dir: 'subgraphs/identity', host: env.IDENTITY_HOST, port: env.IDENTITY_PORT, portSetting: 'IDENTITY_PORT' },
  { name: 'authz', dir: 'subgraphs/authz', host: env.AUTHZ_HOST, port: env.AUTHZ_PORT, portSetting: 'AUTHZ_PORT' },
  { name: 'audit', dir: 'subgraphs/audit', host: env.AUDIT_HOST, port: env.AUDIT_PORT, portSetting: 'AUDIT_PORT' },
  ...featureServices,
  { name: 'gateway', dir: 'gateway', host: env.GATEWAY_HOST, port: env.GATEWAY_PORT, portSetting: 'GATEWAY_PORT' },
];

/** LAUNCH_SERVICES picks some (the others run elsewhere, e.g. a test that stops and starts audit). */
const SERVICES = env.LAUNCH_SERVICES.length > 0 ? ALL_SERVICES.filter((s) => env.LAUNCH_SERVICES.includes(s.name)) : ALL_SERVICES;

async function main(): Promise<void> {
  const started = Date.now();
  for (const service of SERVICES) await assertPortFree(service.port, service.host, service.portSetting);
  if (env.WEB_APP) await assertPortFree(env.WEB_PORT, env.WEB_HOST, 'WEB_PORT');
  let url = env.DATABASE_URL;
  if (!url) {
    await assertPortFree(env.EMBEDDED_PG_PORT, '127.0.0.1', 'EMBEDDED_PG_PORT');
    logger.info({ dataDir: env.DATA_DIR }, 'starting embedded PostgreSQL');
    database = await startEmbeddedPostgres({
      dataDir: env.DATA_DIR,
      port: env.EMBEDDED_PG_PORT,
      database: 'citadel',
      onLog: (line) => logger.debug({ postgres: line.trim() }),
    });
    url = database.url;
  }
  await migrateAll(url, logger);
  const admin = env.NODE_ENV === 'production' ? undefined : await seedDevelopmentAdmin(url, env.DATA_DIR, logger);
  const keys = keysDir(env.DATA_DIR);
  for (const name of ['identity', 'authz', 'audit', ...featureServices.map((s) => s.name), 'gateway']) await loadSigningKey({ name, dir: keys, generate: true });
  const jwks = (host: string, port: number) => `http://${host}:${port}/.well-known/jwks.json`;

  const childEnv = {
    ...process.env,
    DATABASE_URL: url,
    KEYS_DIR: keys,
    MAILBOX_DIR: env.MAILBOX_DIR ?? join(env.DATA_DIR, 'mail'),
    IDENTITY_PORT: String(env.IDENTITY_PORT),
    GATEWAY_PORT: String(env.GATEWAY_PORT),
    IDENTITY_URL: `http://${env.IDENTITY_HOST}:${env.IDENTITY_PORT}`,
    INTERNAL_JWKS_URL: `http://${env.GATEWAY_HOST}:${env.GATEWAY_PORT}/.well-known/jwks.json`,
    IDENTITY_JWKS_URL: `http://${env.IDENTITY_HOST}:${env.IDENTITY_PORT}/.well-known/jwks.json`,
    SUBGRAPH_IDENTITY_URL: `http://${env.IDENTITY_HOST}:${env.IDENTITY_PORT}/graphql`,
    AUTHZ_PORT: String(env.AUTHZ_PORT),
    AUTHZ_URL: `http://${env.AUTHZ_HOST}:${env.AUTHZ_PORT}`,
    SUBGRAPH_AUTHZ_URL: `http://${env.AUTHZ_HOST}:${env.AUTHZ_PORT}/graphql`,
    AUDIT_PORT: String(env.AUDIT_PORT),
    AUDIT_URL: `http://${env.AUDIT_HOST}:${env.AUDIT_PORT}`,
    SUBGRAPH_AUDIT_URL: `http://${env.AUDIT_HOST}:${env.AUDIT_PORT}/graphql`,
    AUDIT_EXPORT_DIR: join(env.DATA_DIR, 'audit-export'),
    // The platform services authz and audit accept service tokens from (catalogues, checks, events).
    SERVICE_JWKS_URLS: [
      `identity=${jwks(env.IDENTITY_HOST, env.IDENTITY_PORT)}`,
      `authz=${jwks(env.AUTHZ_HOST, env.AUTHZ_PORT)}`,
      `audit=${jwks(env.AUDIT_HOST, env.AUDIT_PORT)}`,
      ...featureServices.map((s) => `${s.name}=${jwks(s.host, s.port)}`),
    ].join(','),
    // Each feature subgraph's port, and where the gateway reaches it.
    ...Object.fromEntries(featureServices.flatMap((s) => [[s.portSetting, String(s.port)], [featureSettings(s.name).routingUrl, `http://${s.host}:${s.port}/graphql`]])),
  };
  // identity answers only workspaces' email lookups (addMember by email): it trusts no other service.
  const workspaces = featureServices.find((s) => s.name === 'workspaces');
  const perService: Record<string, Record<string, string>> = {
    identity: { SERVICE_JWKS_URLS: workspaces ? `workspaces=${jwks(workspaces.host, workspaces.port)}` : '' },
  };
  for (const service of SERVICES) {
    // Own process group: a terminal's Ctrl-C reaches only the launcher, which stops services in order.
    const child = spawn(process.execPath, ['--import', 'tsx', join(service.dir, 'src/main.ts')], {
      cwd: REPO_ROOT,
      env: { ...childEnv, ...perService[service.name] },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    children.push({ name: service.name, process: child });
    child.once('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ service: service.name, code, signal }, `${service.name} exited; stopping everything`);
      void stop(1);
    });
  }
  await Promise.all(SERVICES.map((s) => waitReady(s)));
  const host = env.GATEWAY_HOST === '0.0.0.0' ? 'localhost' : env.GATEWAY_HOST;
  if (env.WEB_APP && !stopping) {
    const gatewayHost = env.GATEWAY_HOST === '0.0.0.0' ? '127.0.0.1' : env.GATEWAY_HOST;
    webApp = await startWebApp({
      host: env.WEB_HOST,
      port: env.WEB_PORT,
      gatewayUrl: `http://${gatewayHost}:${env.GATEWAY_PORT}`,
      cacheDir: join(env.DATA_DIR, 'vite'),
    });
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const webLine = webApp ? `  Web app:  ${webApp.url}\n` : '';
  process.stdout.write(
    `\nCitadel is ready in ${seconds}s.\n${webLine}  Explorer: http://${host}:${env.GATEWAY_PORT}/\n  GraphQL:  http://${host}:${env.GATEWAY_PORT}/graphql\n${adminLine(admin)}Press Ctrl-C to stop.\n\n`,
  );
}

function adminLine(admin: { email: string; password: string | null } | undefined): string {
  if (!admin) return '';
  const password = admin.password ?? `see ${join(env.DATA_DIR, 'admin-credentials.txt')}`;
  return `  Admin:    ${admin.email} / ${password} (development only)\n`;
}

async function waitReady(service: ServiceSpec): Promise<void> {
  const deadline = Date.now() + env.READY_TIMEOUT_SECONDS * 1000;
  const url = `http://${service.host}:${service.port}/health/ready`;
  while (Date.now() < deadline) {
    if (stopping) throw new Error('stopping');
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${service.name} was not ready within ${env.READY_TIMEOUT_SECONDS}s (${url})`);
}

/** Stops the services (SIGTERM, then SIGKILL after 10 s), then PostgreSQL; exits with `code`. */
function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    await webApp?.close().catch((error: unknown) => logger.warn({ err: error }, 'web app stop failed'));
    await Promise.all(
      children.map(
        ({ process: child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              logger.warn({ pid: child.pid }, 'a service did not stop within 10 s; killing it');
              child.kill('SIGKILL');
            }, 10_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await database?.stop().catch((error: unknown) => logger.warn({ err: error }, 'PostgreSQL stop failed'));
    logger.info('stopped');
    process.exit(code);
  })();
  return stopping;
}

process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));
// If the launcher itself dies abruptly, take the detached services with it.
process.once('exit', () => {
  for (const { process: child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

main().catch((error: unknown) => {
  if (stopping) return;
  process.stderr.write(`\nCitadel could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  void stop(1);
});
