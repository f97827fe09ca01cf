// The gateways compared side by side on one platform's subgraphs: Citadel's own (the platform's),
// stock @apollo/gateway and Hive Gateway, each a process of its own started and stopped here.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Caller } from '@citadel/kit/auth';
import { REPO_ROOT, SCHEMA_DIR } from '@citadel/kit/paths';
import { freePort } from '@citadel/kit/testing/ports';
import type { Platform } from '../e2e/launcher';
import { CALLERS_VARIABLE, KEYS_VARIABLE } from './upstream-token';

export type GatewayName = 'citadel' | 'apollo' | 'hive';

export interface RunningGateway {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Every subgraph's GraphQL endpoint on this platform, by the name the supergraph gives it. */
export function subgraphEndpoints(platform: Platform): Record<string, string> {
  return {
    identity: `${platform.identityUrl}/graphql`,
    authz: `${platform.authzUrl}/graphql`,
    audit: `${platform.auditUrl}/graphql`,
    ...Object.fromEntries(Object.entries(platform.featureUrls).map(([name, url]) => [name, `${url}/graphql`])),
  };
}

/** schema/supergraph.graphql with its routing URLs pointed at this platform's subgraphs. */
function supergraphFor(platform: Platform): string {
  const endpoints = subgraphEndpoints(platform);
  const sdl = readFileSync(join(SCHEMA_DIR, 'supergraph.graphql'), 'utf8').replace(
    /@join__graph\(name: "([^"]+)", url: "[^"]*"\)/g,
    (whole, name: string) => (endpoints[name] ? `@join__graph(name: "${name}", url: "${endpoints[name]}")` : whole),
  );
  const file = join(mkdtempSync(join(tmpdir(), 'citadel-bench-')), 'supergraph.graphql');
  writeFileSync(file, sdl);
  return file;
}

/**
 * Starts stock @apollo/gateway or Hive Gateway on the platform's subgraphs, acting as one of
 * `callers`: the one whose index a request's `x-bench-caller` header gives (bench/upstream-token.ts).
 */
export async function startOtherGateway(name: Exclude<GatewayName, 'citadel'>, platform: Platform, callers: Caller[]): Promise<RunningGateway> {
  const port = await freePort();
  const file = supergraphFor(platform);
  const args =
    name === 'apollo'
      ? ['--import', 'tsx', 'bench/stock-gateway.ts', file, String(port)]
      : ['--import', 'tsx', 'node_modules/@graphql-hive/gateway/dist/bin.js', 'supergraph', file, '--port', String(port), '--host', '127.0.0.1', '-c', 'bench/hive-gateway.config.ts'];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      [CALLERS_VARIABLE]: JSON.stringify(callers),
      [KEYS_VARIABLE]: join(platform.dataDir, 'keys'),
    },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}/graphql`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const up = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { url, pid: child.pid!, stop: () => stopChild(child).then(() => rmSync(dirname(file), { recursive: true, force: true })) };
    await new Promise((r) => setTimeout(r, 250));
  }
  await stopChild(child);
  rmSync(dirname(file), { recursive: true, force: true });
  throw new Error(`${name} gateway did not start:\n${output}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
