// Starts the real platform with `npm start`'s script, on free ports, and stops it like Ctrl-C does.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedDatabaseUrl } from '@citadel/kit/embedded-postgres';
import { REPO_ROOT } from '@citadel/kit/paths';
import { freePort } from '@citadel/kit/testing/ports';
import { FEATURE_SUBGRAPHS, featureSettings } from '../scripts/subgraphs';

export interface Platform {
  process: ChildProcess;
  gatewayUrl: string;
  identityUrl: string;
  authzUrl: string;
  auditUrl: string;
  workspacesUrl: string;
  /** Every feature subgraph's base URL by name (scripts/subgraphs.ts), workspaces' included. */
  featureUrls: Record<string, string>;
  /** The web app's development server (same-origin /graphql proxied to the gateway). */
  webUrl: string;
  /** The embedded PostgreSQL's port (when no DATABASE_URL was given). */
  embeddedPgPort: number;
  dataDir: string;
  /** Everything the launcher and its services printed so far. */
  output(): string;
  /** SIGINT, as Ctrl-C; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface LaunchOptions {
  /** Variables to set (undefined removes one). DATABASE_URL is removed unless given here. */
  env?: Record<string, string | undefined>;
  dataDir?: string;
  /** Resolve once this many ms passed without readiness, instead of waiting for it. */
  expectFailure?: boolean;
}

export async function launch(options: LaunchOptions = {}): Promise<Platform> {
  // Another process on this machine may take a probed port before a service listens on it; the
  // launcher then names the port and stops everything, and a fresh set of ports is the answer.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOnce(options);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTaken)) throw error;
    }
  }
}

class PortTaken extends Error {}

async function launchOnce(options: LaunchOptions): Promise<Platform> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'citadel-e2e-'));
  chmodSync(dataDir, 0o755); // embedded PostgreSQL runs as the postgres user when we are root
  const [gatewayPort, identityPort, authzPort, auditPort, workspacesPort, pgPort, webPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  // Every other feature subgraph (scripts/subgraphs.ts) on a free port too.
  const featurePorts: Record<string, string> = {};
  for (const feature of FEATURE_SUBGRAPHS) featurePorts[featureSettings(feature.name).port] = feature.name === 'workspaces' ? String(workspacesPort) : String(await freePort());
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({
    ...process.env,
    DATABASE_URL: undefined,
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    GATEWAY_PORT: String(gatewayPort),
    IDENTITY_PORT: String(identityPort),
    AUTHZ_PORT: String(authzPort),
    AUDIT_PORT: String(auditPort),
    ...featurePorts,
    EMBEDDED_PG_PORT: String(pgPort),
    WEB_PORT: String(webPort),
    // Every test request comes from 127.0.0.1, and Redis outlives a run: keep each launch's login
    // counters apart and the per-IP limit out of the way (its own tests set it).
    COUNTER_KEY_PREFIX: `citadel-test:${randomUUID()}:`,
    LOGIN_MAX_ATTEMPTS_PER_IP: '1000000',
    ...options.env,
  })) {
    if (v !== undefined) env[k] = v;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ready = await new Promise<boolean>((resolve) => {
    const timer = setInterval(() => {
      if (output.includes('Citadel is ready')) done(true);
    }, 100);
    const done = (value: boolean) => {
      clearInterval(timer);
      resolve(value);
    };
    void exited.then(() => done(false));
  });
  if (!ready && !options.expectFailure) {
    const message = `Platform did not start:\n${output}`;
    throw /is already in use/.test(output) ? new PortTaken(message) : new Error(message);
  }
  const gw = Number(env.GATEWAY_PORT);
  const id = Number(env.IDENTITY_PORT);
  return {
    process: child,
    gatewayUrl: `http://127.0.0.1:${gw}`,
    identityUrl: `http://127.0.0.1:${id}`,
    authzUrl: `http://127.0.0.1:${env.AUTHZ_PORT}`,
    auditUrl: `http://127.0.0.1:${env.AUDIT_PORT}`,
    workspacesUrl: `http://127.0.0.1:${env.WORKSPACES_PORT}`,
    featureUrls: Object.fromEntries(FEATURE_SUBGRAPHS.map((f) => [f.name, `http://127.0.0.1:${env[featureSettings(f.name).port]}`])),
    webUrl: `http://127.0.0.1:${env.WEB_PORT}`,
    embeddedPgPort: Number(env.EMBEDDED_PG_PORT),
    dataDir,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}

export interface ExtraGateway {
  url: string;
  pid: number;
  stop(): void;
  /** Stops it and resolves once it has exited (e.g. after writing a --cpu-prof profile). */
  stopped(): Promise<void>;
}

/** A second gateway process beside a launched platform (same gateway key, same subgraphs). */
export async function startExtraGateway(
  platform: Platform,
  env: Record<string, string | undefined> = {},
  nodeArgs: string[] = [],
): Promise<ExtraGateway> {
  // GATEWAY_PORT in `env` starts it on that port: the same node again, after a restart.
  const port = env.GATEWAY_PORT ? Number(env.GATEWAY_PORT) : await freePort();
  const identity = platform.identityUrl;
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: REPO_ROOT,
    stdio: 'ignore',
    env: {
      ...process.env,
      GATEWAY_PORT: String(port),
      KEYS_DIR: join(platform.dataDir, 'keys'), // gateway nodes share the gateway key
      IDENTITY_URL: identity,
      IDENTITY_JWKS_URL: `${identity}/.well-known/jwks.json`,
      SUBGRAPH_IDENTITY_URL: `${identity}/graphql`,
      AUTHZ_URL: platform.authzUrl,
      SUBGRAPH_AUTHZ_URL: `${platform.authzUrl}/graphql`,
      AUDIT_URL: platform.auditUrl,
      SUBGRAPH_AUDIT_URL: `${platform.auditUrl}/graphql`,
      ...Object.fromEntries(Object.entries(platform.featureUrls).map(([name, url]) => [featureSettings(name).routingUrl, `${url}/graphql`])),
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false)) {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      return {
        url: `http://127.0.0.1:${port}/graphql`,
        pid: child.pid!,
        stop: () => child.kill('SIGTERM'),
        stopped: () => (child.kill('SIGTERM'), exited),
      };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error('extra gateway did not become ready');
}

export interface ServiceProcess {
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts one subgraph on its own beside a platform launched with LAUNCH_SERVICES leaving it out, so
 * a test can stop and start it (the launcher stops everything when one of its services exits).
 * `port` defaults to the platform's port for that service; another port runs a second instance.
 */
export async function startService(
  platform: Platform,
  name: 'audit' | 'workspaces',
  options: { port?: number; env?: Record<string, string | undefined> } = {},
): Promise<ServiceProcess & { url: string }> {
  const identity = platform.identityUrl;
  const defaultUrl = name === 'audit' ? platform.auditUrl : platform.workspacesUrl;
  const port = String(options.port ?? new URL(defaultUrl).port);
  const url = `http://127.0.0.1:${port}`;
  const perService: Record<string, string> =
    name === 'audit'
      ? {
          AUDIT_PORT: port,
          AUDIT_EXPORT_DIR: join(platform.dataDir, 'audit-export'),
          SERVICE_JWKS_URLS: [`identity=${identity}`, `authz=${platform.authzUrl}`, ...Object.entries(platform.featureUrls).map(([name, url]) => `${name}=${url}`)].map((entry) => `${entry}/.well-known/jwks.json`).join(','),
        }
      : { WORKSPACES_PORT: port, AUDIT_URL: platform.auditUrl, IDENTITY_URL: identity };
  const child = spawn(process.execPath, ['--import', 'tsx', `subgraphs/${name}/src/main.ts`], {
    cwd: REPO_ROOT,
    stdio: 'ignore',
    env: {
      ...process.env,
      DATABASE_URL: embeddedDatabaseUrl(platform.embeddedPgPort),
      KEYS_DIR: join(platform.dataDir, 'keys'),
      INTERNAL_JWKS_URL: `${platform.gatewayUrl}/.well-known/jwks.json`,
      AUTHZ_URL: platform.authzUrl,
      LOG_LEVEL: 'warn',
      ...perService,
      ...options.env,
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)) {
      return {
        url,
        stop: async (signal = 'SIGTERM') => {
          child.kill(signal);
          await exited;
        },
      };
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not become ready`);
}

/** audit on its own (see startService). */
export function startAudit(platform: Platform, env: Record<string, string | undefined> = {}): Promise<ServiceProcess> {
  return startService(platform, 'audit', { env });
}
