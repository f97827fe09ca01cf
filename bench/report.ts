// The bench's results: one JSON file per day under bench/results (machine, settings, every figure,
// the ratios) and the table printed at the end of a run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { AuditFigures } from './audit';
import type { CallerMix, FederatedFigures, GatewayFigures } from './federated';
import type { GatewayName } from './gateways';
import type { DriverFigures } from './load';
import type { StatementFigures } from './statements';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  n: number;
}

export function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0);
  return { p50: at(50), p95: at(95), p99: at(99), n: s.length };
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  os: string;
  /** 1-minute load average when the run started and ended: other work on the machine shows here. */
  loadAverage: { start: number; end: number };
}

export function machine(loadAtStart: number): Machine {
  return {
    cpus: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    os: `${process.platform} ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}`,
    loadAverage: { start: loadAtStart, end: round(loadavg()[0]!) },
  };
}

export interface Results {
  date: string;
  mode: 'full' | 'smoke';
  command: string;
  machine: Machine;
  settings: Record<string, number | string>;
  startup?: { coldSeconds: number; warmSeconds: number };
  /**
   * (a) Citadel, authenticated, authorization on; (b) stock @apollo/gateway and Hive Gateway, no
   * auth; each with one caller on every connection and with a caller per connection.
   */
  federated: { query: string; answer: { workspaces: number; todos: number } } & FederatedFigures;
  /** (c) 50 protected fields, alternating between an enforcing gateway and one with AUTHORIZATION_MODE=off. */
  authorization: { on: Percentiles; off: Percentiles; denied: Percentiles; overheadPercentAtP50: number };
  /** (d) logins at PASSWORD_HASH_CONCURRENCY, from the load driver. */
  login: DriverFigures & { connections: number };
  /** (e) one todo event to N subscribers: from sending the mutation to each subscriber's receipt, ms. */
  subscriptions: { subscribers: number; delivered: number; expected: number; delivery: Percentiles; gatewayRssPerSubscriberKiB: number }[];
  /** (f) statements for one listing request, by todos in the answer. */
  statements: StatementFigures[];
  baseline: {
    login: Percentiles;
    me: Percentiles;
    wrongPassword: { known: Percentiles; unknown: Percentiles };
    reset: { known: Percentiles; unknown: Percentiles };
    flood: { logins: number; rssBeforeMib: number; peakRssMib: number; answers: Record<string, number> };
  };
  audit: { mutationsPerSecond: number; outboxLag: Percentiles; ingestedPerSecond: number; verifiedPerSecond: number };
  ratios: Ratios;
}

/** The goals, as figures from this run (no thresholds are enforced: the bench reports). */
export interface Ratios {
  /** One caller on every connection (identical subgraph fetches in flight). */
  citadelRpsOverApollo: number;
  citadelRpsOverHive: number;
  /** A caller per connection (nothing to share between requests). */
  distinctCallers: { citadelRpsOverApollo: number; citadelRpsOverHive: number };
  authorizationOverheadPercent: number;
  /** Statements for the largest list over statements for the smallest: 1 means constant. */
  statementsGrowth: number;
  /** p99 delivery at the first subscriber count (1,000 at full size). */
  subscriptionP99Ms: number;
}

export function ratios(r: Omit<Results, 'ratios'>): Ratios {
  const g = r.federated.sameCaller;
  const d = r.federated.distinctCallers;
  return {
    citadelRpsOverApollo: round(g.citadel.rps / g.apollo.rps),
    citadelRpsOverHive: round(g.citadel.rps / g.hive.rps),
    distinctCallers: { citadelRpsOverApollo: round(d.citadel.rps / d.apollo.rps), citadelRpsOverHive: round(d.citadel.rps / d.hive.rps) },
    authorizationOverheadPercent: r.authorization.overheadPercentAtP50,
    statementsGrowth: round(r.statements.at(-1)!.statements / r.statements[0]!.statements),
    subscriptionP99Ms: r.subscriptions[0]!.delivery.p99,
  };
}

export function auditSummary(a: AuditFigures): Results['audit'] {
  return {
    mutationsPerSecond: round(a.mutations / a.mutationSeconds, 1),
    outboxLag: percentiles(a.lags),
    ingestedPerSecond: round(a.ingested / a.ingestSeconds, 0),
    verifiedPerSecond: round(a.verified / a.verifySeconds, 0),
  };
}

export function writeResults(dir: string, results: Results): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${results.date}${results.mode === 'smoke' ? '-smoke' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

const ms = (p: Percentiles) => `p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms (n=${p.n})`;

export function table(r: Results): string {
  const rows: [string, string][] = [];
  const names: Record<GatewayName, string> = { citadel: 'Citadel (auth on)', apollo: 'stock @apollo/gateway (no auth)', hive: 'Hive Gateway (no auth)' };
  const s = r.settings;
  const lines = [`(a)/(b) ${r.federated.query}`, `        ${s.connections} connections, ${s.seconds} s after ${s.warmupSeconds} s warm-up; answer: ${r.federated.answer.workspaces} workspaces, ${r.federated.answer.todos} todos`];
  const mixes: Record<CallerMix, string> = { sameCaller: 'one caller on every connection', distinctCallers: `a caller per connection (${s.distinctReaders} callers)` };
  for (const mix of ['sameCaller', 'distinctCallers'] as const) {
    lines.push('', `${mixes[mix]}:`, '| Gateway | RPS | p50 ms | p95 ms | p99 ms | errors | wrong answers | peak RSS MiB |', '|---|---|---|---|---|---|---|---|');
    for (const [name, g] of Object.entries(r.federated[mix]) as [GatewayName, GatewayFigures][]) {
      lines.push(`| ${names[name]} | ${round(g.rps, 1)} | ${g.p50} | ${g.p95} | ${g.p99} | ${g.errors} | ${g.wrongBodies} | ${round(g.peakRssMib, 0)} |`);
    }
  }
  if (r.startup) rows.push(['start-up, cold / warm', `${r.startup.coldSeconds} s / ${r.startup.warmSeconds} s`]);
  rows.push(['(c) 50 protected fields, enforcement on', ms(r.authorization.on)]);
  rows.push(['(c) 50 protected fields, enforcement off', ms(r.authorization.off)]);
  rows.push(['(c) 50 protected fields, all denied', ms(r.authorization.denied)]);
  rows.push([`(d) logins, ${r.login.connections} connections`, `${round(r.login.rps, 1)}/s, p50 ${r.login.p50} ms, p99 ${r.login.p99} ms, errors ${r.login.errors + r.login.wrongBodies}`]);
  for (const sub of r.subscriptions) rows.push([`(e) one event to ${sub.subscribers} subscribers`, `${ms(sub.delivery)}; ${sub.delivered}/${sub.expected} delivered`]);
  rows.push(['(f) statements per request by todos listed', r.statements.map((f) => `${f.size}: ${f.statements}`).join(', ')]);
  rows.push(['login latency (sequential)', ms(r.baseline.login)]);
  rows.push(['me latency (sequential)', ms(r.baseline.me)]);
  rows.push(['wrong password, known / unknown address, p50', `${r.baseline.wrongPassword.known.p50} / ${r.baseline.wrongPassword.unknown.p50} ms`]);
  rows.push(['reset request, known / unknown address, p50', `${r.baseline.reset.known.p50} / ${r.baseline.reset.unknown.p50} ms`]);
  rows.push([`identity memory, ${r.baseline.flood.logins} parallel logins`, `RSS ${round(r.baseline.flood.rssBeforeMib, 0)} MiB before, peak ${round(r.baseline.flood.peakRssMib, 0)} MiB; ${JSON.stringify(r.baseline.flood.answers)}`]);
  rows.push(['audit: mutations/s, outbox lag, ingestion/s, verification/s', `${r.audit.mutationsPerSecond}, ${ms(r.audit.outboxLag)}, ${r.audit.ingestedPerSecond}, ${r.audit.verifiedPerSecond}`]);
  lines.push('', '| What | Figure |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`));
  const q = r.ratios;
  lines.push(
    '',
    '| Goal | This run |',
    '|---|---|',
    `| Citadel RPS / stock @apollo/gateway RPS ≥ 1.5 (one caller / a caller per connection) | ${q.citadelRpsOverApollo} / ${q.distinctCallers.citadelRpsOverApollo} |`,
    `| Citadel RPS / Hive Gateway RPS ≥ 1 (one caller / a caller per connection) | ${q.citadelRpsOverHive} / ${q.distinctCallers.citadelRpsOverHive} |`,
    `| authorization overhead at p50 < 10 % | ${q.authorizationOverheadPercent} % |`,
    `| statements, largest list / smallest = 1 | ${q.statementsGrowth} |`,
    `| subscription delivery p99 at ${r.subscriptions[0]!.subscribers} subscribers < 100 ms | ${q.subscriptionP99Ms} ms |`,
    '',
    `machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.os}; load average ${r.machine.loadAverage.start} at start, ${r.machine.loadAverage.end} at end`,
  );
  return lines.join('\n');
}
