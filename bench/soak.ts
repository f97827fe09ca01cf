// `npm run soak`: mixed traffic through two gateways for a long while (SOAK_SECONDS, default 30
// minutes), sampling every service's memory and open file descriptors; after the warm-up both must
// stay flat (under SOAK_MAX_GROWTH_PERCENT, default 10 %) and no request may fail in a way the mix
// does not expect. Traffic: workspace and todo reads, todo writes (created, completed, deleted),
// logins, and subscribers that keep unsubscribing and subscribing again, on both gateways.
// bench/soak-main.ts runs it and reports; e2e/soak-smoke.e2e.test.ts runs a short one in npm test.
import { readdirSync } from 'node:fs';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { launch, startExtraGateway, type ExtraGateway, type Platform } from '../e2e/launcher';
import { watch, wsClient, type Watched } from '../e2e/subscription-client';
import { findProcess, heapMib, memoryMib } from './load';
import { login, seed } from './seed';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = num('SOAK_SECONDS', 1_800);
const WARMUP_SECONDS = num('SOAK_WARMUP_SECONDS', Math.max(10, Math.round(SECONDS * 0.2)));
const SAMPLE_SECONDS = num('SOAK_SAMPLE_SECONDS', SECONDS >= 600 ? 15 : 2);
const WORKERS = num('SOAK_WORKERS', 4);
const SUBSCRIBERS = num('SOAK_SUBSCRIBERS', 20);
const RESUBSCRIBE_SECONDS = num('SOAK_RESUBSCRIBE_SECONDS', 20);
const MAX_GROWTH_PERCENT = num('SOAK_MAX_GROWTH_PERCENT', 10);

const READ = '{ me { name workspaces { name todos(first: 20) { totalCount edges { node { title status assignee { name } } } } } } }';
const ME = '{ me { id name permissions } }';
const CREATE = 'mutation($i: CreateTodoInput!) { createTodo(input: $i) { id } }';
const COMPLETE = 'mutation($id: ID!) { completeTodo(id: $id) { id status } }';
const DELETE = 'mutation($id: ID!) { deleteTodo(id: $id) }';
const WATCH = 'subscription($w: ID!) { todoEvents(workspaceId: $w) { type todo { title assignee { name } } } }';

interface Sample {
  atSeconds: number;
  /** By service: resident memory and V8 heap in use (MiB, from its /metrics), open file descriptors. */
  processes: Record<string, { rssMib: number; heapMib: number; fds: number }>;
}

export interface SoakResults {
  date: string;
  seconds: number;
  warmupSeconds: number;
  requests: Record<string, number>;
  /** Outcomes other than success, by operation and code: every one is unexpected. */
  unexpected: Record<string, number>;
  subscriptionEvents: number;
  resubscriptions: number;
  samples: Sample[];
  /**
   * Per service, percent: how the floor (the lowest sample) of the last third after the warm-up
   * compares with the floor of the first third, for resident memory and heap in use; the mean for
   * descriptors. A floor is what is still held after garbage collection: a sawtooth that climbs
   * back to the same floor is flat, a floor that rises is a leak.
   */
  growth: Record<string, { rssPercent: number; heapPercent: number; fdsPercent: number }>;
  maxGrowthPercent: number;
  passed: boolean;
}

const fds = (pid: number) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
};

function servicePids(platform: Platform, second: ExtraGateway): Record<string, number> {
  const root = platform.process.pid!;
  return {
    'gateway-1': findProcess(root, 'gateway/src/main.ts'),
    'gateway-2': second.pid,
    identity: findProcess(root, 'subgraphs/identity/src/main.ts'),
    authz: findProcess(root, 'subgraphs/authz/src/main.ts'),
    audit: findProcess(root, 'subgraphs/audit/src/main.ts'),
    workspaces: findProcess(root, 'subgraphs/workspaces/src/main.ts'),
  };
}

function growth(samples: Sample[], warmupSeconds: number): SoakResults['growth'] {
  const after = samples.filter((s) => s.atSeconds >= warmupSeconds);
  const third = Math.max(1, Math.floor(after.length / 3));
  const first = after.slice(0, third);
  const last = after.slice(-third);
  const values = (xs: Sample[], service: string, key: keyof Sample['processes'][string]) => xs.map((s) => s.processes[service]?.[key] ?? 0);
  const floor = (xs: number[]) => Math.min(...xs);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const percent = (from: number, to: number) => (from > 0 ? Math.round(((to - from) / from) * 1000) / 10 : 0);
  const services = Object.keys(samples[0]?.processes ?? {});
  return Object.fromEntries(
    services.map((service) => [
      service,
      {
        rssPercent: percent(floor(values(first, service, 'rssMib')), floor(values(last, service, 'rssMib'))),
        heapPercent: percent(floor(values(first, service, 'heapMib')), floor(values(last, service, 'heapMib'))),
        fdsPercent: percent(mean(values(first, service, 'fds')), mean(values(last, service, 'fds'))),
      },
    ]),
  );
}

export async function soak(): Promise<SoakResults> {
  const step = (what: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${what}\n`);
  step(`platform, two gateways; ${SECONDS} s of traffic, warm-up ${WARMUP_SECONDS} s`);
  // Logins come from one address all along: the per-address login limit is for attackers.
  // SOAK_ACCESS_TOKEN_TTL_SECONDS (60 or more) makes tokens expire within a shorter run.
  const ttl = process.env.SOAK_ACCESS_TOKEN_TTL_SECONDS;
  const platform = await launch({ env: { LOG_LEVEL: 'warn', LOGIN_MAX_ATTEMPTS_PER_IP: '1000000', ...(ttl ? { ACCESS_TOKEN_TTL_SECONDS: ttl } : {}) } });
  let second: ExtraGateway | undefined;
  const subscribers: { watched: Watched; close(): void }[] = [];
  try {
    second = await startExtraGateway(platform, { LOG_LEVEL: 'warn' });
    const gateways = [`${platform.gatewayUrl}/graphql`, second.url];
    const data = await seed(gateways[0]!, { workspaces: 2, todosPerWorkspace: 20, readerWorkspaces: 2, distinctReaders: 3 });
    const users = [data.owner, data.reader, ...data.readers];
    // Like a client, sign in again when the access token expired (ACCESS_TOKEN_TTL_SECONDS, 15 min).
    const tokens = new Map(users.map((u) => [u.email, u.token]));
    const renewing = new Map<string, Promise<void>>();
    const renew = (email: string) => {
      let pending = renewing.get(email);
      if (!pending) {
        pending = login(gateways[0]!, email)
          .then((token) => void tokens.set(email, token))
          .finally(() => renewing.delete(email));
        renewing.set(email, pending);
      }
      return pending;
    };
    const pids = servicePids(platform, second);
    const requests: Record<string, number> = {};
    const unexpected: Record<string, number> = {};
    const count = (operation: string, code: string | undefined) => {
      requests[operation] = (requests[operation] ?? 0) + 1;
      if (code) unexpected[`${operation}: ${code}`] = (unexpected[`${operation}: ${code}`] ?? 0) + 1;
    };
    const call = async <T>(operation: string, gql: string, query: string, email: string, variables: Record<string, unknown> = {}) => {
      try {
        let res = await graphqlRequest<T>(gql, query, { token: tokens.get(email)!, variables });
        if (res.body.errors?.[0]?.extensions?.reason === 'TOKEN_EXPIRED') {
          count('renewToken', undefined);
          await renew(email);
          res = await graphqlRequest<T>(gql, query, { token: tokens.get(email)!, variables });
        }
        const code = res.status >= 500 ? `HTTP ${res.status}` : res.body.errors?.length ? String(res.body.errors[0]!.extensions?.code ?? 'no code') : undefined;
        count(operation, code);
        return code ? undefined : res.body.data;
      } catch (error) {
        count(operation, `transport: ${(error as Error).message.slice(0, 60)}`);
        return undefined;
      }
    };

    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    const running = () => elapsed() < SECONDS;

    // Subscribers on both gateways, each dropping its subscription and taking a new one in turn.
    let subscriptionEvents = 0;
    let resubscriptions = 0;
    const subscribe = (i: number) => {
      const user = users[i % users.length]!;
      const client = wsClient(gateways[i % 2]!, tokens.get(user.email)!);
      const watched = watch(client, WATCH, { w: data.workspaceIds[i % data.workspaceIds.length] });
      return { watched, close: () => (watched.unsubscribe(), void client.dispose()) };
    };
    for (let i = 0; i < SUBSCRIBERS; i++) subscribers.push(subscribe(i));
    const churn = setInterval(() => {
      const i = resubscriptions++ % SUBSCRIBERS;
      subscriptionEvents += subscribers[i]!.watched.events.length;
      subscribers[i]!.close();
      subscribers[i] = subscribe(i);
    }, (RESUBSCRIBE_SECONDS * 1000) / SUBSCRIBERS);

    const bases: Record<string, string> = {
      'gateway-1': platform.gatewayUrl,
      'gateway-2': second.url.replace(/\/graphql$/, ''),
      identity: platform.identityUrl,
      authz: platform.authzUrl,
      audit: platform.auditUrl,
      workspaces: platform.workspacesUrl,
    };
    const samples: Sample[] = [];
    const sample = async () => {
      const atSeconds = Math.round(elapsed());
      const processes = await Promise.all(
        Object.entries(pids).map(async ([name, pid]) => [name, { rssMib: Math.round(memoryMib(pid, 'VmRSS') * 10) / 10, heapMib: await heapMib(bases[name]!), fds: fds(pid) }] as const),
      );
      samples.push({ atSeconds, processes: Object.fromEntries(processes) });
    };
    await sample();
    const sampler = setInterval(() => void sample(), SAMPLE_SECONDS * 1000);

    // Workers: reads most of the time, a todo's life now and then, a login more rarely.
    const worker = async (w: number) => {
      for (let i = 0; running(); i++) {
        const gql = gateways[(w + i) % 2]!;
        const user = users[(w + i) % users.length]!;
        const workspaceId = data.workspaceIds[(w + i) % data.workspaceIds.length]!;
        const turn = i % 20;
        if (turn < 12) await call('read', gql, READ, user.email);
        else if (turn < 16) await call('me', gql, ME, user.email);
        else if (turn < 19) {
          const owner = data.owner.email;
          const created = await call<{ createTodo: { id: string } }>('createTodo', gql, CREATE, owner, { i: { workspaceId, title: `soak ${w}.${i}` } });
          if (created) {
            await call('completeTodo', gateways[(w + i + 1) % 2]!, COMPLETE, owner, { id: created.createTodo.id });
            await call('deleteTodo', gql, DELETE, owner, { id: created.createTodo.id });
          }
        } else {
          count('login', (await login(gql, user.email).then(() => undefined, (e: Error) => e.message.slice(0, 60))) ?? undefined);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    clearInterval(churn);
    clearInterval(sampler);
    await sample();
    for (const s of subscribers) subscriptionEvents += s.watched.events.length;

    const byService = growth(samples, WARMUP_SECONDS);
    const withinBounds = Object.values(byService).every((g) => g.rssPercent < MAX_GROWTH_PERCENT && g.heapPercent < MAX_GROWTH_PERCENT && g.fdsPercent < MAX_GROWTH_PERCENT);
    const results: SoakResults = {
      date: new Date().toISOString().slice(0, 10),
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      requests,
      unexpected,
      subscriptionEvents,
      resubscriptions,
      samples,
      growth: byService,
      maxGrowthPercent: MAX_GROWTH_PERCENT,
      passed: withinBounds && Object.keys(unexpected).length === 0,
    };
    return results;
  } finally {
    for (const s of subscribers) s.close();
    second?.stop();
    await platform.stop();
  }
}
