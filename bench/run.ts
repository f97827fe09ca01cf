// `npm run bench`: issue 8's scenarios on the real platform, one after another, then the table and
// bench/results/<date>.json. `BENCH_SMOKE=1` (or `--smoke`) runs every scenario for a few seconds
// at tiny sizes (e2e/bench-smoke.e2e.test.ts runs it in `npm test`). Settings: see SETTINGS.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@citadel/kit/paths';
import { startStatementLog } from '@citadel/kit/testing/statement-log';
import { launch, type Platform } from '../e2e/launcher';
import { measureAudit } from './audit';
import { measureAuthorizationCost } from './authorization';
import { measureBaseline } from './baseline';
import { FEDERATED_QUERY, federatedShape, measureFederated } from './federated';
import { drive } from './load';
import { auditSummary, machine, percentiles, ratios, round, table, writeResults, type Results } from './report';
import { login, seed } from './seed';
import { measureStatements, setStatementLogging } from './statements';
import { measureSubscriptions } from './subscriptions';

const SMOKE = process.env.BENCH_SMOKE === '1' || process.argv.includes('--smoke');
const knob = (name: string, full: number, smoke: number) => Number(process.env[name] ?? (SMOKE ? smoke : full));
/** Every knob, by its environment variable; the defaults keep a full run under 15 minutes on 2 cores. */
const SETTINGS = {
  connections: knob('BENCH_CONNECTIONS', 16, 4),
  seconds: knob('BENCH_SECONDS', 20, 2),
  warmupSeconds: knob('BENCH_WARMUP_SECONDS', 5, 1),
  workspaces: knob('BENCH_WORKSPACES', 10, 3),
  todosPerWorkspace: knob('BENCH_TODOS', 100, 10),
  readerWorkspaces: knob('BENCH_READER_WORKSPACES', 3, 2),
  /** Callers for (a)/(b) with a caller per connection (one per connection by default). */
  distinctReaders: knob('BENCH_DISTINCT_READERS', Number(process.env.BENCH_CONNECTIONS ?? (SMOKE ? 4 : 16)), Number(process.env.BENCH_CONNECTIONS ?? 4)),
  authzQueries: knob('BENCH_AUTHZ_QUERIES', 300, 20),
  loginSeconds: knob('BENCH_LOGIN_SECONDS', 10, 2),
  loginConnections: knob('BENCH_LOGIN_CONNECTIONS', 8, 2),
  subscribers: process.env.BENCH_SUBSCRIBERS ?? (SMOKE ? '20' : '1000,5000'),
  subscriptionEvents: knob('BENCH_SUBSCRIPTION_EVENTS', 10, 2),
  logins: knob('BENCH_LOGINS', 50, 3),
  queries: knob('BENCH_QUERIES', 500, 10),
  timingPairs: knob('BENCH_TIMING_PAIRS', 10, 2),
  flood: knob('BENCH_FLOOD', 500, 10),
  auditSeconds: knob('BENCH_AUDIT_SECONDS', 10, 1),
};
const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? join(REPO_ROOT, 'bench', 'results');
const PLATFORM_ENV = { LOG_LEVEL: 'warn', REDIS_URL: undefined, MAX_ALIASES: '100', MAX_ROOT_FIELDS: '100' };
const step = (what: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${what}\n`);

const loadAtStart = round(loadavg()[0]!);
let startup: Results['startup'];
if (!SMOKE) {
  // Start-up as `npm start` does it: embedded PostgreSQL initialised (cold), then reused (warm).
  step('start-up, cold and warm');
  const timed = async (dataDir?: string) => {
    const t = performance.now();
    const p = await launch({ env: PLATFORM_ENV, ...(dataDir ? { dataDir } : {}) });
    const seconds = round((performance.now() - t) / 1000, 1);
    await p.stop();
    return { dataDir: p.dataDir, seconds };
  };
  const cold = await timed();
  const warm = await timed(cold.dataDir);
  rmSync(cold.dataDir, { recursive: true, force: true });
  startup = { coldSeconds: cold.seconds, warmSeconds: warm.seconds };
}

// The platform for the scenarios, on an embedded PostgreSQL whose statements (f) can count.
const dataDir = mkdtempSync(join(tmpdir(), 'citadel-bench-'));
chmodSync(dataDir, 0o755); // embedded PostgreSQL runs as the postgres user when we are root
const statementLog = await startStatementLog(dataDir);
await setStatementLogging(statementLog, false);
let platform: Platform | undefined;
try {
  step('platform');
  platform = await launch({ dataDir, env: { ...PLATFORM_ENV, DATABASE_URL: statementLog.url } });
  const gql = `${platform.gatewayUrl}/graphql`;
  step(`seeding ${SETTINGS.workspaces} workspaces × ${SETTINGS.todosPerWorkspace} todos`);
  const data = await seed(gql, SETTINGS);

  step('(a)/(b) federated query: Citadel, stock @apollo/gateway, Hive Gateway');
  const answer = await federatedShape(gql, await login(gql, data.reader.email));
  const gateways = await measureFederated(platform, data, SETTINGS);

  step('(c) authorization cost');
  const authz = await measureAuthorizationCost(platform, SETTINGS.authzQueries);
  const [on, off, denied] = [percentiles(authz.on), percentiles(authz.off), percentiles(authz.denied)];

  step('(d) login throughput');
  const loginBody = JSON.stringify({ query: 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', variables: { i: { email: data.owner.email, password: data.password } } });
  const logins = await drive({
    url: gql,
    body: loginBody,
    headers: {},
    connections: SETTINGS.loginConnections,
    seconds: SETTINGS.loginSeconds,
    warmupSeconds: 0,
    expect: { matches: '^\\{"data":\\{"login":\\{"accessToken":"[^"]+"\\}\\}\\}' },
  });

  step('(e) subscription fan-out');
  const subscriptions: Results['subscriptions'] = [];
  for (const subscribers of SETTINGS.subscribers.split(',').map(Number)) {
    const live = await measureSubscriptions(platform, { subscribers, events: SETTINGS.subscriptionEvents, seconds: 1 });
    subscriptions.push({
      subscribers,
      delivered: live.deliveries.length,
      expected: subscribers * SETTINGS.subscriptionEvents,
      delivery: percentiles(live.deliveries),
      gatewayRssPerSubscriberKiB: round(live.gatewayRssPerSubscriber / 1024, 1),
    });
  }

  step('(f) statements per request');
  const statements = await measureStatements(gql, statementLog, data);

  step('login and me latency, enumeration timing, login flood');
  const base = await measureBaseline(platform, SETTINGS);
  step('audit');
  const audit = await measureAudit(platform, SETTINGS.auditSeconds);

  const partial: Omit<Results, 'ratios'> = {
    date: new Date().toISOString().slice(0, 10),
    mode: SMOKE ? 'smoke' : 'full',
    command: SMOKE ? 'BENCH_SMOKE=1 npm run bench' : 'npm run bench',
    machine: machine(loadAtStart),
    settings: SETTINGS,
    ...(startup ? { startup } : {}),
    federated: { query: FEDERATED_QUERY, answer, ...gateways },
    authorization: { on, off, denied, overheadPercentAtP50: round(((on.p50 - off.p50) / off.p50) * 100, 1) },
    login: { ...logins, connections: SETTINGS.loginConnections },
    subscriptions,
    statements,
    baseline: {
      login: percentiles(base.login),
      me: percentiles(base.me),
      wrongPassword: { known: percentiles(base.wrongPassword.known), unknown: percentiles(base.wrongPassword.unknown) },
      reset: { known: percentiles(base.reset.known), unknown: percentiles(base.reset.unknown) },
      flood: base.flood,
    },
    audit: auditSummary(audit),
  };
  const results: Results = { ...partial, ratios: ratios(partial) };
  const file = writeResults(RESULTS_DIR, results);
  process.stdout.write(`\n${table(results)}\n\nresults: ${file}\n`);
} finally {
  await platform?.stop();
  await statementLog.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
