// Subscriptions and the workspaces read path, on a running platform: one todo event delivered to
// 1,000 subscribers on one gateway (delivery time from the mutation being sent to each subscriber
// receiving it, memory per subscriber), and requests per second for a page of todos with assignee
// names (workspaces + identity) through the gateway.
import type { ExecutionResult } from 'graphql';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import type { Client } from 'graphql-ws';
import type { Platform } from '../e2e/launcher';
import { metric, wsClient } from '../e2e/subscription-client';

export interface SubscriptionFigures {
  subscribers: number;
  /** ms from sending the mutation to each subscriber's receipt, every event, every subscriber. */
  deliveries: number[];
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
  options: { subscribers?: number; users?: number; events?: number; seconds?: number } = {},
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
  const members = [];
  for (let i = 0; i < users; i++) {
    const member = await account(`member${i}`);
    await as('mutation($i: AddMemberInput!) { addMember(input: $i) { role } }', { i: { workspaceId: w, userId: member.id, role: 'MEMBER' } });
    members.push(member);
  }

  // 1. Fan-out: `subscribers` subscriptions from `users` members, one socket each member.
  const gatewayBase = platform.gatewayUrl;
  const heap = () => metric(gatewayBase, 'nodejs_heap_size_used_bytes');
  const rss = () => metric(gatewayBase, 'process_resident_memory_bytes');
  const subgraphHeap = () => metric(platform.workspacesUrl, 'nodejs_heap_size_used_bytes');
  const [heapBefore, rssBefore, subgraphBefore] = [await heap(), await rss(), await subgraphHeap()];
  const activeBefore = await metric(platform.workspacesUrl, 'citadel_subscriptions_active');
  const clients: Client[] = members.map((m) => wsClient(gql, m.token));
  const received: number[][] = [];
  let sentAt = 0;
  const unsubscribes: (() => void)[] = [];
  for (let i = 0; i < subscribers; i++) {
    const mine: number[] = [];
    received.push(mine);
    unsubscribes.push(
      clients[i % clients.length]!.subscribe<ExecutionResult>({ query: WATCH, variables: { w } }, { next: () => void mine.push(performance.now() - sentAt), error: () => undefined, complete: () => undefined }),
    );
  }
  const until = Date.now() + 60_000;
  while ((await metric(platform.workspacesUrl, 'citadel_subscriptions_active')) - activeBefore < subscribers && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const [heapOpen, rssOpen, subgraphOpen] = [await heap(), await rss(), await subgraphHeap()];
  const deliveries: number[] = [];
  for (let e = 0; e < events; e++) {
    const counts = received.map((r) => r.length);
    sentAt = performance.now();
    await as('mutation($i: CreateTodoInput!) { createTodo(input: $i) { id } }', { i: { workspaceId: w, title: `event ${e}`, assigneeId: members[e % users]!.id } });
    const deadline = Date.now() + 30_000;
    while (received.some((r, i) => r.length <= counts[i]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    received.forEach((r, i) => {
      if (r.length > counts[i]!) deliveries.push(r[counts[i]!]!);
    });
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const stop of unsubscribes) stop();
  await Promise.all(clients.map((c) => c.dispose()));

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
    gatewayHeapPerSubscriber: (heapOpen - heapBefore) / subscribers,
    gatewayRssPerSubscriber: (rssOpen - rssBefore) / subscribers,
    subgraphHeapPerSubscriber: (subgraphOpen - subgraphBefore) / subscribers,
    todosRps,
    todosLatencies: latencies,
  };
}
