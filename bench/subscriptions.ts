// Subscriptions and the workspaces read path, on a running platform: one todo event delivered to
// 1,000 subscribers on one gateway (delivery time from the mutation being sent to each subscriber
// receiving it, measured in subscriber processes of their own; memory per subscriber), and requests per second for a page of todos with assignee
// names (workspaces + identity) through the gateway.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '@citadel/kit/paths';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import type { Platform } from '../e2e/launcher';
import { metric } from '../e2e/subscription-client';
import { findProcess } from './load';
import type { SubscribersJob, SubscribersReport } from './subscribers-driver';

export interface SubscriptionFigures {
  subscribers: number;
  /** ms from sending the mutation to each subscriber's receipt, every event, every subscriber. */
  deliveries: number[];
  /** The same, per event (in the order sent): one bad event shows here, not only in the tail. */
  deliveriesByEvent: number[][];
  /** ms from sending each event's mutation to its response (the floor under every delivery). */
  mutations: number[];
  /** Measured events the workspaces outbox relay published more than 0.5 s after their commit. */
  outboxLateEvents: number;
  /** CPU time (user + system) per event of the gateway and of the subgraph owning the subscription. */
  gatewayCpuMsPerEvent: number;
  subgraphCpuMsPerEvent: number;
  gatewayHeapPerSubscriber: number;
  gatewayRssPerSubscriber: number;
  subgraphHeapPerSubscriber: number;
  todosRps: number;
  todosLatencies: number[];
}

const PASSWORD = 'a benchmark passphrase';
const WATCH = process.env.BENCH_WATCH_SIMPLE ? 'subscription($w: ID!) { todoEvents(workspaceId: $w) { type todo { title } } }' : 'subscription($w: ID!) { todoEvents(workspaceId: $w) { type todo { title assignee { name } } actor { name } } }';

export async function measureSubscriptions(
  platform: Platform,
  options: { subscribers?: number; users?: number; events?: number; seconds?: number; processes?: number } = {},
): Promise<SubscriptionFigures> {
  const subscribers = options.subscribers ?? 1_000;
  const users = options.users ?? 20;
  const events = options.events ?? 10;
  const gql = `${platform.gatewayUrl}/graphql`;
  const tag = Date.now();
  const account = async (name: string) => {
    const email = `${name}-${tag}@example.com`;
    const reg = await graphqlRequest<{ register: { id: string } }>(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', {
      variables: { i: { email, password: PASSWORD, name } },
    });
    const login = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
      variables: { i: { email, password: PASSWORD } },
    });
    return { id: reg.body.data!.register.id, token: login.body.data!.login.accessToken };
  };
  const owner = await account('owner');
  const as = async <T>(query: string, variables: Record<string, unknown>) => {
    const res = await graphqlRequest<T>(gql, query, { token: owner.token, variables });
    if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data;
  };
  const { createWorkspace } = await as<{ createWorkspace: { id: string } }>('mutation($n: String!) { createWorkspace(name: $n) { id } }', { n: `bench ${tag}` });
  const w = createWorkspace.id;
  const members: { id: string; token: string }[] = [];
  for (let i = 0; i < users; i++) {
    const member = await account(`member${i}`);
    await as('mutation($i: AddMemberInput!) { addMember(input: $i) { role } }', { i: { workspaceId: w, userId: member.id, role: 'MEMBER' } });
    members.push(member);
  }

  // 1. Fan-out: `subscribers` subscriptions from `users` members, one socket each member, held by
  // subscriber processes of their own (bench/subscribers-driver.ts) so that reading a thousand
  // messages does not delay the receipt times, nor share a thread with the sender.
  const gatewayBase = platform.gatewayUrl;
  const heap = () => metric(gatewayBase, 'nodejs_heap_size_used_bytes');
  const rss = () => metric(gatewayBase, 'process_resident_memory_bytes');
  const subgraphHeap = () => metric(platform.workspacesUrl, 'nodejs_heap_size_used_bytes');
  const [heapBefore, rssBefore, subgraphBefore] = [await heap(), await rss(), await subgraphHeap()];
  const activeBefore = await metric(gatewayBase, 'citadel_gateway_subscriptions_active');
  const sockets = members.map((m, i) => ({ token: m.token, count: Math.floor(subscribers / users) + (i < subscribers % users ? 1 : 0) })).filter((s) => s.count > 0);
  const processes = Math.max(1, Math.min(sockets.length, options.processes ?? 4));
  const drivers = Array.from({ length: processes }, (_, p) =>
    startSubscribers({ url: gql.replace(/^http/, 'ws'), sockets: sockets.filter((_, i) => i % processes === p), query: WATCH, variables: { w } }),
  );
  const deliveries: number[] = [];
  const byEvent: number[][] = [];
  let wrong = 0;
  let sample: string | undefined;
  let open = { heap: 0, rss: 0, subgraph: 0 };
  const mutations: number[] = [];
  let cpu = { gateway: 0, subgraph: 0 };
  let outboxLateEvents = 0;
  const gatewayPid = findProcess(platform.process.pid!, 'gateway/src/main.ts');
  const subgraphPid = findProcess(platform.process.pid!, 'subgraphs/workspaces/src/main.ts');
  try {
    await Promise.all(drivers.map((d) => d.ready));
    const until = Date.now() + 60_000;
    while ((await metric(gatewayBase, 'citadel_gateway_subscriptions_active')) - activeBefore < subscribers && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const createTodo = (title: string, e: number) =>
      as('mutation($i: CreateTodoInput!) { createTodo(input: $i) { id } }', { i: { workspaceId: w, title, assigneeId: members[e % users]!.id } });
    // graphql-ws has no "subscribed" acknowledgement: events until one reaches every subscriber
    // say that all are live upstream (not measured).
    for (let k = 0; ; k++) {
      const title = `warm-up ${k}`;
      await createTodo(title, k);
      if (await allDone(drivers, title, 2_000)) break;
      if (k >= 30) throw new Error('the subscribers never all received one event');
    }
    open = { heap: await heap(), rss: await rss(), subgraph: await subgraphHeap() };
    const sentAt = new Map<string, number>();
    const cpuBefore = [cpuMs(gatewayPid), cpuMs(subgraphPid)];
    const outboxLate = async () =>
      (await metric(platform.workspacesUrl, 'citadel_outbox_delivery_lag_seconds_count')) - (await metric(platform.workspacesUrl, 'citadel_outbox_delivery_lag_seconds_bucket', { le: '0.5' }));
    const lateBefore = await outboxLate();
    for (let e = 0; e < events; e++) {
      const title = `event ${e}`;
      const sent = performance.timeOrigin + performance.now();
      sentAt.set(title, sent);
      await createTodo(title, e);
      mutations.push(performance.timeOrigin + performance.now() - sent);
      await allDone(drivers, title, 30_000);
      await new Promise((r) => setTimeout(r, 200));
    }
    outboxLateEvents = (await outboxLate()) - lateBefore;
    // Includes the mutation's own work and 200 ms of idle time per event (keep-alives, metrics).
    cpu = { gateway: (cpuMs(gatewayPid) - cpuBefore[0]!) / events, subgraph: (cpuMs(subgraphPid) - cpuBefore[1]!) / events };
    for (const report of await Promise.all(drivers.map((d) => d.report()))) {
      [...sentAt].forEach(([title, sent], e) => {
        for (const at of report.receipts[title] ?? []) {
          deliveries.push(at - sent);
          (byEvent[e] ??= []).push(at - sent);
        }
      });
      wrong += report.wrong;
      sample ??= report.sample;
    }
  } finally {
    await Promise.all(drivers.map((d) => d.stop()));
  }
  if (wrong > 0) throw new Error(`${wrong} subscription events were not what was expected, e.g. ${sample}`);

  // 2. A page of 20 todos with assignee names, `seconds` long, 16 in flight.
  const page = 'query($w: ID!) { workspace(id: $w) { todos(first: 20) { edges { node { title assignee { name } } } } } }';
  const reader = members[0]!;
  const latencies: number[] = [];
  const stopAt = Date.now() + (options.seconds ?? 10) * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < stopAt) {
        const t = performance.now();
        const res = await graphqlRequest(gql, page, { token: reader.token, variables: { w } });
        if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
        latencies.push(performance.now() - t);
      }
    }),
  );
  const todosRps = latencies.length / ((performance.now() - t0) / 1000);
  return {
    subscribers,
    deliveries,
    deliveriesByEvent: byEvent,
    mutations,
    outboxLateEvents,
    gatewayCpuMsPerEvent: cpu.gateway,
    subgraphCpuMsPerEvent: cpu.subgraph,
    gatewayHeapPerSubscriber: (open.heap - heapBefore) / subscribers,
    gatewayRssPerSubscriber: (open.rss - rssBefore) / subscribers,
    subgraphHeapPerSubscriber: (open.subgraph - subgraphBefore) / subscribers,
    todosRps,
    todosLatencies: latencies,
  };
}

interface Subscribers {
  /** Resolves once every subscription was sent. */
  ready: Promise<void>;
  /** Resolves true once each of its subscribers got the event titled `title`, false after `ms`. */
  done(title: string, ms: number): Promise<boolean>;
  report(): Promise<SubscribersReport>;
  stop(): Promise<void>;
}

/** Starts bench/subscribers-driver.ts with its share of the sockets. */
function startSubscribers(job: SubscribersJob): Subscribers {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/subscribers-driver.ts', JSON.stringify(job)], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const finished = new Set<string>();
  const waiting = new Map<string, () => void>();
  let onReady!: () => void;
  let onReport: ((report: SubscribersReport) => void) | undefined;
  let failed!: (error: Error) => void;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => undefined);
  child.on('exit', (code) => failed(new Error(`subscriber driver exited with ${code}: ${stderr.slice(-2000)}`)));
  const ready = Promise.race([new Promise<void>((resolve) => (onReady = resolve)), failure]);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as { ready?: number; done?: string } & Partial<SubscribersReport>;
    if (message.ready !== undefined) onReady();
    else if (message.done !== undefined) {
      finished.add(message.done);
      waiting.get(message.done)?.();
    } else if (message.receipts) onReport?.(message as SubscribersReport);
  });
  return {
    ready,
    done: (title, ms) => {
      if (finished.has(title)) return Promise.resolve(true);
      return Promise.race([
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), ms);
          waiting.set(title, () => {
            clearTimeout(timer);
            resolve(true);
          });
        }),
        failure,
      ]);
    },
    report: () => {
      const report = Promise.race([new Promise<SubscribersReport>((resolve) => (onReport = resolve)), failure]);
      child.stdin.write('report\n');
      return report;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.write('stop\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function allDone(drivers: Subscribers[], title: string, ms: number): Promise<boolean> {
  return (await Promise.all(drivers.map((d) => d.done(title, ms)))).every(Boolean);
}

/** User + system CPU time of a process so far, ms (USER_HZ is 100 on Linux). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}
