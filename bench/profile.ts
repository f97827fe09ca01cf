// `npm run bench:profile`: where scenario (a)'s CPU goes. Launches the platform, seeds the bench's
// data, drives the federated query through each gateway for a while and reports, per process
// (gateway, every subgraph, PostgreSQL, the load driver), CPU milliseconds spent per request. With
// `--cpu-prof` it also runs a second Citadel gateway under `node --cpu-prof` for the same load and
// prints its hottest functions and packages by self time (the .cpuprofile is kept for DevTools).
// Settings: BENCH_CONNECTIONS, BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_PROFILE_GATEWAYS
// (comma-separated: citadel,apollo,hive), BENCH_PROFILE_MIX (same|distinct), BENCH_PROFILE_DIR.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '@citadel/kit/paths';
import { launch } from '../e2e/launcher';
import { FEDERATED_QUERY, startCitadel } from './federated';
import { startOtherGateway, type GatewayName, type RunningGateway } from './gateways';
import { drive, processTree } from './load';
import { callerOf, login, seed } from './seed';
import { CALLER_HEADER } from './upstream-token';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const LOAD = { connections: env('BENCH_CONNECTIONS', 16), seconds: env('BENCH_SECONDS', 15), warmupSeconds: env('BENCH_WARMUP_SECONDS', 3) };
const GATEWAYS = (process.env.BENCH_PROFILE_GATEWAYS ?? 'citadel,apollo,hive').split(',') as GatewayName[];
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR ?? join(REPO_ROOT, 'bench', 'results', 'profiles');
const CPU_PROF = process.argv.includes('--cpu-prof');
/** BENCH_PROFILE_MIX=distinct: a caller per connection (nothing to deduplicate) instead of one. */
const DISTINCT = process.env.BENCH_PROFILE_MIX === 'distinct';
const TICK_MS = 10; // USER_HZ is 100 on Linux

/** User + system CPU time of a process, ms (0 once it is gone). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Every process of interest by role: what its command line says it runs. */
function roles(roots: number[]): Map<string, number[]> {
  const byRole = new Map<string, number[]>();
  // The roots' trees overlap (the launcher is this process's child): count each process once.
  for (const pid of new Set(roots.flatMap(processTree))) {
    const command = commandOf(pid);
    const role =
      /postgres/.test(command) && !/node/.test(command)
        ? 'postgresql'
        : /bench\/driver\.ts/.test(command)
          ? 'load driver'
          : /gateway\/src\/main\.ts/.test(command)
            ? 'gateway'
            : /stock-gateway|hive-gateway|gateway\/dist\/bin/.test(command)
              ? 'gateway'
              : (/subgraphs\/([a-z-]+)\/src\/main\.ts/.exec(command)?.[1] ?? undefined);
    if (role) byRole.set(role, [...(byRole.get(role) ?? []), pid]);
  }
  return byRole;
}

const step = (what: string) => process.stdout.write(`[profile ${new Date().toISOString().slice(11, 19)}] ${what}\n`);
const platform = await launch({ env: { LOG_LEVEL: 'warn', REDIS_URL: undefined } });
try {
  const gql = `${platform.gatewayUrl}/graphql`;
  step('seeding');
  const data = await seed(gql, { workspaces: 3, todosPerWorkspace: 40, readerWorkspaces: 3, distinctReaders: DISTINCT ? LOAD.connections - 1 : 0 });
  const tokens = await Promise.all([data.reader, ...data.readers].map((r) => login(gql, r.email)));
  const callers = await Promise.all(tokens.map((t) => callerOf(gql, t)));
  const token = tokens[0]!;
  const body = JSON.stringify({ query: FEDERATED_QUERY });
  const answer = JSON.stringify((await (await fetch(gql, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body })).json()) as unknown);

  for (const name of GATEWAYS) {
    const gateway: RunningGateway =
      name === 'citadel' ? await startCitadel(platform) : await startOtherGateway(name, platform, callers);
    try {
      const as = (i: number): Record<string, string> => (name === 'citadel' ? { authorization: `Bearer ${tokens[i]}` } : { [CALLER_HEADER]: String(i) });
      const headers = as(0);
      const headerSets = DISTINCT ? tokens.map((_, i) => as(i)) : undefined;
      // Sample the CPU counters while the driver runs: from just after its warm-up to its end.
      // The platform's own gateway idles meanwhile; only the gateway under load counts.
      const watched = () => {
        const all = roles([platform.process.pid!, gateway.pid, process.pid]);
        all.set('gateway', processTree(gateway.pid));
        return all;
      };
      let before: Map<string, number> | undefined;
      const sample = () => new Map([...watched()].map(([role, pids]) => [role, pids.reduce((sum, pid) => sum + cpuMs(pid), 0)]));
      let last: Map<string, number> | undefined;
      const figures = await drive(
        { url: gateway.url, body, headers, ...(headerSets ? { headerSets } : {}), ...LOAD, expect: { equals: answer } },
        { onMeasuring: () => (before = sample()), onMeasured: () => (last = sample()) },
      );
      const perRequest: Record<string, number> = {};
      for (const [role, ms] of last ?? []) perRequest[role] = Math.round(((ms - (before?.get(role) ?? 0)) / figures.requests) * 100) / 100;
      const total = Object.values(perRequest).reduce((a, b) => a + b, 0);
      step(`${name}: ${figures.rps} RPS, p50 ${figures.p50} ms, errors ${figures.errors + figures.wrongBodies}`);
      for (const [role, ms] of Object.entries(perRequest).sort((a, b) => b[1] - a[1])) process.stdout.write(`    ${role.padEnd(12)} ${ms.toFixed(2)} ms CPU/request\n`);
      process.stdout.write(`    ${'total'.padEnd(12)} ${total.toFixed(2)} ms CPU/request\n`);
    } finally {
      await gateway.stop();
    }
  }

  if (CPU_PROF) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    const already = new Set(readdirSync(PROFILE_DIR));
    step('Citadel gateway under --cpu-prof');
    const profiled = await startCitadel(platform, ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`]);
    const headerSets = DISTINCT ? tokens.map((t) => ({ authorization: `Bearer ${t}` })) : undefined;
    await drive({ url: profiled.url, body, headers: { authorization: `Bearer ${token}` }, ...(headerSets ? { headerSets } : {}), ...LOAD, expect: { equals: answer } });
    await profiled.stop();
    const file = readdirSync(PROFILE_DIR).find((f) => f.endsWith('.cpuprofile') && !already.has(f));
    if (!file) throw new Error('the profiled gateway wrote no profile');
    summarise(join(PROFILE_DIR, file));
  }
} finally {
  await platform.stop();
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}

/** Prints the profile's top functions and packages by self time. */
function summarise(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number };
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    if (!node.hitCount) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const path = url.replace(/^file:\/\//, '');
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? (path ? (path.startsWith('node:') ? 'node' : relative(REPO_ROOT, path).split('/').slice(0, 2).join('/')) : `(${functionName || 'program'})`);
    const where = `${functionName || '(anonymous)'} ${path ? `${pkg}:${lineNumber + 1}` : ''}`;
    byFunction.set(where, (byFunction.get(where) ?? 0) + node.hitCount);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.hitCount);
    total += node.hitCount;
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `    ${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`).join('\n');
  process.stdout.write(`profile ${relative(REPO_ROOT, file)} (${total} samples)\n  by package:\n${top(byPackage, 20)}\n  by function:\n${top(byFunction, 40)}\n`);
}
