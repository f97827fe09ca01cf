// A rolling restart of two gateway nodes under load, on the real platform. In front of them stands
// what a load balancer does: it sends each request to a node whose /health/ready said 200 at its
// last check (every 100 ms). Each node, on SIGTERM, turns not ready, keeps serving for
// SHUTDOWN_DELAY_MS, then stops accepting, finishes what is in flight and closes its WebSocket
// clients with 1001; the test restarts one node, then the other. No request may fail, and every
// subscription must come back on its own and receive events again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { freePort } from '@citadel/kit/testing/ports';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { launch, startExtraGateway, type ExtraGateway, type Platform } from './launcher';
import { account, CREATE_TODO, CREATE_WORKSPACE, ok, type Account } from './workspaces-helpers';

const READ = 'query Read($w: ID!) { me { id } workspace(id: $w) { todos { totalCount } } }';
const WATCH = 'subscription Watch($w: ID!) { todoEvents(workspaceId: $w) { type todo { title } } }';
const NODE_ENV = { SHUTDOWN_DELAY_MS: '1500', LOG_LEVEL: 'warn' };

let platform: Platform;
let ada: Account;
let workspaceId: string;
const ports: number[] = [];
const nodes = new Map<number, ExtraGateway>();
/** The load balancer's view: the ports whose last readiness check answered 200. */
const ready = new Set<number>();
let checking = true;
let checker: Promise<void> | undefined;
let turn = 0;

beforeAll(async () => {
  platform = await launch();
  const gql = `${platform.gatewayUrl}/graphql`;
  ada = await account(gql, 'ada@example.com');
  workspaceId = (await ok<{ createWorkspace: { id: string } }>(gql, ada.token, CREATE_WORKSPACE, { name: 'Rolling' })).createWorkspace.id;
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    ports.push(port);
    nodes.set(port, await startExtraGateway(platform, { ...NODE_ENV, GATEWAY_PORT: String(port) }));
  }
  checker = (async () => {
    while (checking) {
      await Promise.all(
        ports.map(async (port) => {
          const up = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status === 200, () => false);
          if (up) ready.add(port);
          else ready.delete(port);
        }),
      );
      await sleep(100);
    }
  })();
  await within('both nodes ready', 10_000, () => ready.size === 2);
}, 180_000);

afterAll(async () => {
  checking = false;
  await checker;
  for (const node of nodes.values()) await node.stopped();
  await platform?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function within(what: string, limitMs: number, holds: () => boolean): Promise<number> {
  const started = performance.now();
  while (!holds()) {
    if (performance.now() - started > limitMs) throw new Error(`${what} did not happen within ${limitMs} ms`);
    await sleep(20);
  }
  return performance.now() - started;
}

/** A ready node, in turn, as a round-robin balancer picks one. */
function pick(): number {
  const candidates = ports.filter((port) => ready.has(port));
  if (candidates.length === 0) throw new Error('no node is ready');
  return candidates[turn++ % candidates.length]!;
}

interface Outcome {
  port: number;
  kind: 'read' | 'write';
  at: number;
  result: string;
}

function steadyLoad(workers: number): { outcomes: Outcome[]; stop: () => Promise<void> } {
  const outcomes: Outcome[] = [];
  let running = true;
  let n = 0;
  const one = async (kind: Outcome['kind']) => {
    const port = pick();
    const res = await graphqlRequest(`http://127.0.0.1:${port}/graphql`, kind === 'write' ? CREATE_TODO : READ, {
      token: ada.token,
      variables: kind === 'write' ? { i: { workspaceId, title: `rolling ${++n}` } } : { w: workspaceId },
    }).catch((error: unknown) => ({ status: 0, body: { errors: [{ message: String(error), extensions: { code: 'NETWORK' } }] } }));
    const result = res.status !== 200 ? `HTTP ${res.status} ${JSON.stringify(res.body)}` : res.body.errors?.length ? JSON.stringify(res.body.errors) : 'ok';
    outcomes.push({ port, kind, at: performance.now(), result });
  };
  const loops = Array.from({ length: workers }, async (_, i) => {
    while (running) await one(i % 3 === 0 ? 'write' : 'read');
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

interface Subscriber {
  client: Client;
  titles: string[];
  closes: { code: number; reason: string }[];
  connects: number;
}

/** A graphql-ws client that reconnects (to a ready node) as an application's would. */
function subscriber(): Subscriber {
  const sub: Subscriber = { client: undefined as unknown as Client, titles: [], closes: [], connects: 0 };
  sub.client = createClient({
    url: () => `ws://127.0.0.1:${pick()}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${ada.token}` },
    retryAttempts: 20,
    retryWait: async () => void (await sleep(100 + Math.random() * 200)),
    on: {
      connected: () => void sub.connects++,
      closed: (event) => void sub.closes.push({ code: (event as { code: number }).code, reason: (event as { reason: string }).reason }),
    },
  });
  sub.client.subscribe<{ todoEvents: { todo: { title: string } } }>(
    { query: WATCH, variables: { w: workspaceId } },
    { next: (value) => void (value.data && sub.titles.push(value.data.todoEvents.todo.title)), error: () => undefined, complete: () => undefined },
  );
  return sub;
}

/** SIGTERM to one node, then the same node started again on its port; resolves once it is ready. */
async function restart(port: number): Promise<{ downMs: number; backMs: number }> {
  const started = performance.now();
  await nodes.get(port)!.stopped();
  const downMs = performance.now() - started;
  nodes.set(port, await startExtraGateway(platform, { ...NODE_ENV, GATEWAY_PORT: String(port) }));
  await within('the restarted node back in the balancer', 10_000, () => ready.has(port));
  return { downMs, backMs: performance.now() - started };
}

describe('a rolling restart of two gateway nodes', () => {
  it('fails no request, and every subscription is closed with 1001, reconnects to a ready node and receives events again', async () => {
    const subscribers = Array.from({ length: 10 }, subscriber);
    await within('every subscriber connected', 10_000, () => subscribers.every((s) => s.connects === 1));
    await sleep(500); // the subscriptions themselves started
    const load = steadyLoad(6);
    await sleep(1_000);
    const first = await restart(ports[0]!);
    await sleep(1_000);
    const second = await restart(ports[1]!);
    await sleep(1_000);
    await load.stop();

    // After both restarts, one more change reaches every subscriber: all of them came back.
    await within('every subscriber reconnected', 15_000, () => subscribers.every((s) => s.connects >= 2));
    await sleep(500);
    const gql = `http://127.0.0.1:${pick()}/graphql`;
    await ok(gql, ada.token, CREATE_TODO, { i: { workspaceId, title: 'after the restarts' } });
    const resumedMs = await within('the change reaching every subscriber', 15_000, () => subscribers.every((s) => s.titles.includes('after the restarts')));

    const failed = load.outcomes.filter((o) => o.result !== 'ok');
    const closeCodes = subscribers.flatMap((s) => s.closes.map((c) => `${c.code} ${c.reason}`));
    console.log(
      `rolling restart: ${load.outcomes.length} requests (${load.outcomes.filter((o) => o.kind === 'write').length} writes), ${failed.length} failed; ` +
        `node 1 stopped in ${Math.round(first.downMs)} ms and was back in ${Math.round(first.backMs)} ms, node 2 in ${Math.round(second.downMs)} / ${Math.round(second.backMs)} ms; ` +
        `subscriber closes ${JSON.stringify(countOf(closeCodes))}, reconnects ${subscribers.reduce((n, s) => n + s.connects - 1, 0)}; ` +
        `an event after the restarts reached all 10 subscribers in ${Math.round(resumedMs)} ms`,
    );
    for (const s of subscribers) s.client.dispose();

    expect(failed.slice(0, 5)).toEqual([]);
    expect(load.outcomes.length).toBeGreaterThan(100);
    // Both nodes served throughout, before and after their restarts.
    expect(new Set(load.outcomes.map((o) => o.port))).toEqual(new Set(ports));
    for (const s of subscribers) {
      expect(s.closes.length).toBeGreaterThan(0);
      expect(s.closes.every((c) => c.code === 1001 && c.reason === 'Server shutting down')).toBe(true);
    }
  }, 180_000);
});

function countOf(values: string[]): Record<string, number> {
  return values.reduce<Record<string, number>>((acc, v) => ((acc[v] = (acc[v] ?? 0) + 1), acc), {});
}
