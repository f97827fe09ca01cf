// `npm run bench`: start-up time (cold and warm) and request latency through the real gateway.
// Bounded: a fixed number of sequential requests to 127.0.0.1 only.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { launch, type Platform } from '../e2e/launcher';
import { measureAuthorizationCost } from './authorization';
import { measureAudit } from './audit';
import { measureSubscriptions } from './subscriptions';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 100);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 1000);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (samples: number[]) => {
  const s = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(2)} ms, p95 ${percentile(s, 95).toFixed(2)} ms, p99 ${percentile(s, 99).toFixed(2)} ms (n=${s.length})`;
};

async function timedLaunch(dataDir?: string): Promise<{ platform: Platform; seconds: number }> {
  const started = performance.now();
  const platform = await launch({ env: { LOG_LEVEL: 'warn', LOGIN_MAX_ATTEMPTS_PER_IP: '1000000', REDIS_URL: undefined, MAX_ALIASES: '100', MAX_ROOT_FIELDS: '100' }, ...(dataDir ? { dataDir } : {}) });
  return { platform, seconds: (performance.now() - started) / 1000 };
}

/** identity's pid: the launcher's child running subgraphs/identity. */
function identityProcess(platform: Platform): number {
  const children = execFileSync('pgrep', ['-P', String(platform.process.pid)], { encoding: 'utf8' }).trim().split('\n');
  const pid = children.map(Number).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('subgraphs/identity'));
  if (!pid) throw new Error('identity process not found');
  return pid;
}

function memoryKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field));
  return Number(line?.replace(/\D+/g, '') ?? 0);
}

const cold = await timedLaunch();
await cold.platform.stop();
const warm = await timedLaunch(cold.platform.dataDir);
const gql = `${warm.platform.gatewayUrl}/graphql`;
try {
  const input = { email: 'bench@example.com', password: 'a benchmark passphrase', name: 'Bench' };
  await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: input } });
  const login = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
  const vars = { variables: { i: { email: input.email, password: input.password } } };
  let token = '';
  const logins: number[] = [];
  for (let i = 0; i < LOGINS; i++) {
    const t = performance.now();
    const res = await graphqlRequest<{ login: { accessToken: string } }>(gql, login, vars);
    logins.push(performance.now() - t);
    token = res.body.data!.login.accessToken;
  }
  const mes: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now();
    await graphqlRequest(gql, '{ me { id email } }', { token });
    mes.push(performance.now() - t);
  }
  // Throughput: logins with 8 in flight at a time (argon2 capped at PASSWORD_HASH_CONCURRENCY).
  const THROUGHPUT_LOGINS = 200;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < THROUGHPUT_LOGINS) await graphqlRequest(gql, login, vars);
    }),
  );
  const loginsPerSecond = THROUGHPUT_LOGINS / ((performance.now() - t0) / 1000);

  // Flood: 500 logins at once for distinct accounts; identity's peak memory and how they were answered.
  const identityPid = identityProcess(warm.platform);
  const rssBefore = memoryKb(identityPid, 'VmRSS');
  const flood = await Promise.all(
    Array.from({ length: 500 }, (_, i) =>
      graphqlRequest(gql, login, { variables: { i: { email: `flood${i}@example.com`, password: 'flood passphrase' } } }),
    ),
  );
  const peak = memoryKb(identityPid, 'VmHWM');
  const answers = flood.reduce<Record<string, number>>((acc, r) => {
    const c = String(r.body.errors?.[0]?.extensions?.code ?? 'OK');
    acc[c] = (acc[c] ?? 0) + 1;
    return acc;
  }, {});

  // Enumeration by timing: wrong-password logins and reset requests, known vs unknown addresses.
  const known: string[] = [];
  for (let i = 0; i < 20; i++) {
    const e = `timing${i}@example.com`;
    await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: { email: e, password: 'timing passphrase', name: 'T' } } });
    known.push(e);
  }
  /** Known and unknown addresses alternate, so neither series inherits the other's after-work. */
  const timedPairs = async (query: string, variables: (e: string) => Record<string, unknown>) => {
    const samples = { known: [] as number[], unknown: [] as number[] };
    for (const e of known) {
      for (const [kind, address] of [['known', e], ['unknown', `nobody-${e}`]] as const) {
        const t = performance.now();
        await graphqlRequest(gql, query, { variables: variables(address) });
        samples[kind].push(performance.now() - t);
      }
    }
    return samples;
  };
  const wrongLogins = await timedPairs(login, (e) => ({ i: { email: e, password: 'not the passphrase' } }));
  const resets = await timedPairs('mutation($e: String!) { requestPasswordReset(email: $e) }', (e) => ({ e }));
  const [loginKnown, loginUnknown, resetKnown, resetUnknown] = [wrongLogins.known, wrongLogins.unknown, resets.known, resets.unknown];

  const authorization = await measureAuthorizationCost(warm.platform, Number(process.env.BENCH_AUTHZ_QUERIES ?? 500));
  const audit = await measureAudit(warm.platform, Number(process.env.BENCH_AUDIT_SECONDS ?? 15));
  const live = await measureSubscriptions(warm.platform, { subscribers: Number(process.env.BENCH_SUBSCRIBERS ?? 1000) });
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

  console.log(`start, cold (initdb + migrations + keys): ${cold.seconds.toFixed(1)} s`);
  console.log(`start, warm (existing data):             ${warm.seconds.toFixed(1)} s`);
  console.log(`login through the gateway (argon2id):    ${summary(logins)}`);
  console.log(`me through the gateway (JWT verified):   ${summary(mes)}`);
  console.log(`login throughput, 8 in flight:           ${loginsPerSecond.toFixed(1)} logins/s`);
  console.log(`wrong password, known address:           ${summary(loginKnown)}`);
  console.log(`wrong password, unknown address:         ${summary(loginUnknown)}`);
  console.log(`reset request, known address:            ${summary(resetKnown)}`);
  console.log(`reset request, unknown address:          ${summary(resetUnknown)}`);
  console.log(`identity memory, 500 parallel logins:    RSS ${(rssBefore / 1024).toFixed(0)} MiB before, peak ${(peak / 1024).toFixed(0)} MiB; answers ${JSON.stringify(answers)}`);
  console.log(`50 protected fields, enforcement on:     ${summary(authorization.on)}`);
  console.log(`50 protected fields, enforcement off:    ${summary(authorization.off)}`);
  console.log(`50 protected fields, all denied (nulls): ${summary(authorization.denied)}`);
  console.log(`mutations with audit events, 16 in flight: ${(audit.mutations / audit.mutationSeconds).toFixed(0)}/s (${audit.mutations} in ${audit.mutationSeconds.toFixed(1)} s)`);
  console.log(`outbox delivery lag (recorded − occurred): ${summary(audit.lags)}`);
  console.log(`audit ingestion, 500/batch, 4 in flight:  ${(audit.ingested / audit.ingestSeconds).toFixed(0)} events/s (${audit.ingested} events)`);
  console.log(`chain verification:                       ${(audit.verified / audit.verifySeconds).toFixed(0)} events/s (${audit.verified} events)`);
  console.log(`one todo event to ${live.subscribers} subscribers (mutation sent → received): ${summary(live.deliveries)}`);
  console.log(`memory per subscriber: gateway heap ${kib(live.gatewayHeapPerSubscriber)}, gateway RSS ${kib(live.gatewayRssPerSubscriber)}, workspaces heap ${kib(live.subgraphHeapPerSubscriber)}`);
  console.log(`workspace { todos(first: 20) { title assignee { name } } }, 16 in flight: ${live.todosRps.toFixed(0)} requests/s, ${summary(live.todosLatencies)}`);
} finally {
  await warm.platform.stop();
  rmSync(cold.platform.dataDir, { recursive: true, force: true });
}
