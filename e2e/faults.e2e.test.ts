// Subgraph faults on the real platform: workspaces killed under steady load and started again, and,
// through a fault-injecting TCP proxy in front of it, a subgraph that hangs and one that resets
// connections. Queries that do not need the failed subgraph keep working; those that do get the
// rest of their data and SUBGRAPH_UNAVAILABLE naming it; traffic recovers without a gateway restart.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@citadel/kit/testing/ports';
import { graphqlRequest, type GraphQLResponse } from '@citadel/kit/testing/graphql-client';
import { launch, startExtraGateway, startService, type ExtraGateway, type Platform, type ServiceProcess } from './launcher';
import { metric, watch, wsClient, type Watched } from './subscription-client';
import { account, CREATE_TODO, CREATE_WORKSPACE, ok, type Account } from './workspaces-helpers';

/** Needs identity only. */
const IDENTITY_ONLY = 'query IdentityOnly { me { id name } }';
/** Needs identity and workspaces, in parallel root fields: one can fail without the other. */
const BOTH = 'query Both($w: ID!) { me { id name } workspace(id: $w) { id name } }';
/** An entity fetch into workspaces under identity's `me`: its non-null list nulls `me`. */
const NESTED = 'query Nested { me { name workspaces { name } } }';
const WATCH = 'subscription Watch($w: ID!) { todoEvents(workspaceId: $w) { type todo { title } } }';

let platform: Platform;
let gql: string;
let workspaces: ServiceProcess & { url: string };
let ada: Account;
let workspaceId: string;
const extras: ExtraGateway[] = [];

beforeAll(async () => {
  // workspaces runs on its own so the test can kill it; the launcher would stop everything otherwise.
  platform = await launch({ env: { LAUNCH_SERVICES: 'identity,authz,audit,gateway' } });
  gql = `${platform.gatewayUrl}/graphql`;
  workspaces = await startService(platform, 'workspaces');
  ada = await account(gql, 'ada@example.com');
  workspaceId = (await ok<{ createWorkspace: { id: string } }>(gql, ada.token, CREATE_WORKSPACE, { name: 'Faults' })).createWorkspace.id;
}, 120_000);

afterAll(async () => {
  for (const extra of extras) await extra.stopped();
  await workspaces?.stop();
  await platform?.stop();
});

type Body = GraphQLResponse['body'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, holds: () => boolean | Promise<boolean>, limitMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + limitMs; !(await holds()); await sleep(25)) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${limitMs} ms`);
  }
}

/** The one error of an answer missing workspaces' part, or a description of what came instead. */
function unavailable(body: Body): Record<string, unknown> | string {
  if (body.errors?.length !== 1) return `expected one error, got ${JSON.stringify(body)}`;
  const { message, extensions } = body.errors[0]!;
  if (extensions?.code !== 'SUBGRAPH_UNAVAILABLE' || extensions.serviceName !== 'workspaces' || !message.includes("'workspaces'")) {
    return `expected SUBGRAPH_UNAVAILABLE naming workspaces, got ${JSON.stringify(body)}`;
  }
  return extensions;
}

interface Outcome {
  query: 'identity-only' | 'both';
  at: number;
  /** ok, unavailable (partial data and one SUBGRAPH_UNAVAILABLE naming workspaces), or what else came. */
  result: 'ok' | 'unavailable' | string;
}

/** Clients sending IDENTITY_ONLY and BOTH in turn, back to back, until stopped. */
function steadyLoad(url: string, workers: number): { outcomes: Outcome[]; stop: () => Promise<void> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const one = async (query: Outcome['query']) => {
    const res = await graphqlRequest(url, query === 'both' ? BOTH : IDENTITY_ONLY, { token: ada.token, variables: query === 'both' ? { w: workspaceId } : {} }).catch(
      (error: unknown) => ({ status: 0, body: { errors: [{ message: String(error) }] } }) as GraphQLResponse,
    );
    let result: string;
    const me = (res.body.data as { me?: { name?: string } } | null | undefined)?.me;
    if (res.status !== 200) result = `HTTP ${res.status}: ${JSON.stringify(res.body)}`;
    else if (me?.name !== 'ada') result = `no identity data: ${JSON.stringify(res.body)}`;
    else if (!res.body.errors) result = query === 'both' && !(res.body.data as { workspace?: unknown }).workspace ? 'no workspace' : 'ok';
    else if (query === 'identity-only') result = `errors: ${JSON.stringify(res.body.errors)}`;
    else {
      const error = unavailable(res.body);
      result = typeof error === 'string' ? error : (res.body.data as { workspace?: unknown }).workspace === null ? 'unavailable' : 'workspace not null';
    }
    outcomes.push({ query, at: Date.now(), result });
  };
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      await one('identity-only');
      await one('both');
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('a subgraph killed under steady load', () => {
  it('keeps answering what does not need it, gives partial data and SUBGRAPH_UNAVAILABLE for what does, and recovers when it is back', async () => {
    // An open subscription to the subgraph that will die: the relay must resume it or end it with a reason.
    const ws = wsClient(platform.gatewayUrl + '/graphql', ada.token);
    const subscribersBefore = await metric(workspaces.url, 'citadel_subscriptions_active');
    const watched: Watched<{ todoEvents: { todo: { title: string } } }> = watch(ws, WATCH, { w: workspaceId });
    await waitFor('the subscription reaching workspaces', async () => (await metric(workspaces.url, 'citadel_subscriptions_active')) > subscribersBefore);

    const load = steadyLoad(gql, 4);
    try {
      await waitFor('load before the kill', () => load.outcomes.filter((o) => o.query === 'both').length >= 40);
      const killedAt = Date.now();
      await workspaces.stop('SIGKILL');
      const deadAt = Date.now();
      await waitFor('answers while workspaces is down', () => load.outcomes.filter((o) => o.at > killedAt && o.result === 'unavailable').length >= 40);

      // What a client sees, by kind of operation, while it is down.
      const nested = await graphqlRequest(gql, NESTED, { token: ada.token });
      expect(nested.status).toBe(200);
      expect(nested.body.data).toEqual({ me: null });
      expect(unavailable(nested.body)).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'workspaces', reason: 'UNREACHABLE' });
      const mutation = await graphqlRequest(gql, CREATE_TODO, { token: ada.token, variables: { i: { workspaceId, title: 'While down' } } });
      expect(mutation.status).toBe(200);
      expect(mutation.body.data).toBeNull();
      expect(unavailable(mutation.body)).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'workspaces', reason: 'UNREACHABLE' });

      const restartedAt = Date.now();
      workspaces = await startService(platform, 'workspaces');
      const readyAt = Date.now();
      await waitFor('a query needing workspaces to succeed again', () => load.outcomes.some((o) => o.query === 'both' && o.at > readyAt && o.result === 'ok'));
      const recoveredAt = load.outcomes.find((o) => o.query === 'both' && o.at > readyAt && o.result === 'ok')!.at;
      // Settled: every query after recovery succeeds (no gateway restart, no stale connection).
      await waitFor('load after recovery', () => load.outcomes.filter((o) => o.at > recoveredAt).length >= 80);
      await load.stop();

      const during = load.outcomes.filter((o) => o.at > killedAt && o.at <= recoveredAt);
      const after = load.outcomes.filter((o) => o.at > recoveredAt);
      const failedBoth = during.filter((o) => o.query === 'both' && o.result !== 'ok');
      const okWhileDead = during.filter((o) => o.query === 'both' && o.at > deadAt + 100 && o.at < restartedAt && o.result === 'ok');
      console.log(
        `workspaces down ${restartedAt - killedAt} ms + ${readyAt - restartedAt} ms to start; ` +
          `${load.outcomes.length} requests in all; during the outage ${during.filter((o) => o.query === 'identity-only').length} identity-only queries all ok, ` +
          `${failedBoth.length} of ${during.filter((o) => o.query === 'both').length} queries needing workspaces answered with partial data + SUBGRAPH_UNAVAILABLE; ` +
          `recovered ${recoveredAt - readyAt} ms after workspaces was ready; ${after.length} requests after, all ok`,
      );
      // Every answer, before, during and after: HTTP 200 with identity's data; never anything but ok or the expected partial answer.
      expect(load.outcomes.filter((o) => o.result !== 'ok' && o.result !== 'unavailable').map((o) => o.result)).toEqual([]);
      expect(load.outcomes.filter((o) => o.query === 'identity-only' && o.result !== 'ok')).toEqual([]);
      expect(load.outcomes.filter((o) => o.at <= killedAt && o.result !== 'ok')).toEqual([]);
      expect(after.filter((o) => o.result !== 'ok')).toEqual([]);
      expect(failedBoth.length).toBeGreaterThanOrEqual(40);
      expect(okWhileDead).toEqual([]);

      // The subscription: resumed (an event made after the restart arrives) or ended with a reason
      // (an error with a code, or a close with a reason). Events made while it resubscribes are lost.
      let n = 0;
      let lastMade = 0;
      await waitFor(
        'the subscription resuming or ending',
        async () => {
          if (watched.isEnded()) return true;
          if (Date.now() - lastMade > 250) {
            lastMade = Date.now();
            await graphqlRequest(gql, CREATE_TODO, { token: ada.token, variables: { i: { workspaceId, title: `After ${n++}` } } });
          }
          return watched.events.some((e) => e.data?.todoEvents.todo.title.startsWith('After'));
        },
        30_000,
      );
      if (watched.isEnded()) {
        const ending = JSON.stringify(await watched.ended);
        expect(ending).toMatch(/"code":"[A-Z_]+"|"reason":"[^"]+"/);
        console.log(`the subscription ended with ${ending}`);
      } else {
        console.log(`the subscription resumed ${Date.now() - readyAt} ms after workspaces was ready (${n} todos made after the restart)`);
      }
    } finally {
      await load.stop();
      watched.unsubscribe();
      await ws.dispose();
    }
  }, 90_000);
});

/**
 * A TCP proxy between a gateway and a subgraph that fails on demand: `pass` forwards, `hang`
 * swallows requests and never answers, `reset` resets a connection as a request arrives (`resets`
 * times, then forwards again).
 */
class FaultProxy {
  mode: 'pass' | 'hang' | 'reset' = 'pass';
  resets = 0;
  /** Connections that received a request while hanging, and of those, how many are still open. */
  readonly hung = new Set<Socket>();
  /** Requests seen while resetting (each on a connection it then reset). */
  resetCount = 0;
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  url = '';

  async start(target: URL): Promise<void> {
    this.server = createServer((client) => {
      this.sockets.add(client);
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
      client.on('data', (chunk) => {
        if (this.mode === 'hang') {
          this.hung.add(client);
          return;
        }
        if (this.mode === 'reset' && this.resets > 0) {
          this.resets--;
          this.resetCount++;
          if (this.resets === 0) this.mode = 'pass';
          upstream.destroy();
          client.resetAndDestroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => client.write(chunk));
      const close = () => {
        this.sockets.delete(client);
        upstream.destroy();
        client.destroy();
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    const port = await freePort();
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}/graphql`;
  }

  /** Hung connections the gateway has not closed yet. */
  get hungOpen(): number {
    return [...this.hung].filter((s) => !s.destroyed).length;
  }

  /**
   * Applies from the next request on, kept-alive connections included (the mode is read per
   * chunk): cutting idle ones here would race the gateway reusing them.
   */
  set(mode: FaultProxy['mode'], resets = 0): void {
    this.mode = mode;
    this.resets = resets;
    this.resetCount = 0;
    this.hung.clear();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('a subgraph that hangs or resets connections (SUBGRAPH_WORKSPACES_TIMEOUT_MS, retries)', () => {
  const proxy = new FaultProxy();
  let gateway: ExtraGateway;
  const TIMEOUT_MS = 1_500;

  beforeAll(async () => {
    await proxy.start(new URL(workspaces.url));
    gateway = await startExtraGateway(platform, { SUBGRAPH_WORKSPACES_URL: proxy.url, SUBGRAPH_WORKSPACES_TIMEOUT_MS: String(TIMEOUT_MS) });
    extras.push(gateway);
    await ok(gateway.url, ada.token, BOTH, { w: workspaceId });
  }, 90_000);
  afterAll(() => proxy.stop());

  const both = (w = workspaceId) => graphqlRequest(gateway.url, BOTH, { token: ada.token, variables: { w } });

  it('answers queries to a hanging subgraph with SUBGRAPH_UNAVAILABLE (TIMEOUT) after its timeout, keeps the rest working, and closes every timed-out connection', async () => {
    proxy.set('hang');
    const started = Date.now();
    // Different variables, so no two share one deduplicated fetch: ten hung connections.
    const hanging = Array.from({ length: 10 }, (_, i) => both(i === 0 ? workspaceId : `00000000-0000-4000-8000-00000000000${i}`));
    const meanwhile = await graphqlRequest(gateway.url, IDENTITY_ONLY, { token: ada.token });
    const answeredMeanwhileAfter = Date.now() - started;
    const answers = await Promise.all(hanging);
    const took = Date.now() - started;
    expect(meanwhile.body).toEqual({ data: { me: { id: ada.id, name: 'ada' } } });
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ me: { id: ada.id, name: 'ada' }, workspace: null });
      expect(unavailable(res.body)).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'workspaces', reason: 'TIMEOUT' });
    }
    expect(answers[0]!.body.errors![0]!.message).toBe(`Subgraph 'workspaces' is unavailable: no answer within ${TIMEOUT_MS} ms`);
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS);
    // Each query was sent once (never resent after a timeout) and its connection closed by the gateway.
    expect(proxy.hung.size).toBe(10);
    await waitFor('the timed-out connections closing', () => proxy.hungOpen === 0, 10_000);
    console.log(`10 queries to a hanging subgraph answered TIMEOUT after ${took} ms (timeout ${TIMEOUT_MS} ms); an identity-only query meanwhile took ${answeredMeanwhileAfter} ms; 0 of 10 connections left open`);

    // A mutation too, sent once.
    proxy.set('hang');
    const mutation = await graphqlRequest(gateway.url, CREATE_TODO, { token: ada.token, variables: { i: { workspaceId, title: 'Hung' } } });
    expect(unavailable(mutation.body)).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'workspaces', reason: 'TIMEOUT' });
    expect(proxy.hung.size).toBe(1);

    // Back to answering: recovers at once, no gateway restart.
    proxy.set('pass');
    expect((await both()).body).toEqual({ data: { me: { id: ada.id, name: 'ada' }, workspace: { id: workspaceId, name: 'Faults' } } });
  }, 60_000);

  it('retries a query reset before any answer once (and succeeds), never a mutation, and names the subgraph when the retry fails too', async () => {
    const retriesBefore = await metric(gateway.url.replace('/graphql', ''), 'citadel_gateway_subgraph_fetch_retries_total', { subgraph: 'workspaces' });
    proxy.set('reset', 1);
    expect((await both()).body).toEqual({ data: { me: { id: ada.id, name: 'ada' }, workspace: { id: workspaceId, name: 'Faults' } } });
    expect(proxy.resetCount).toBe(1);
    expect(await metric(gateway.url.replace('/graphql', ''), 'citadel_gateway_subgraph_fetch_retries_total', { subgraph: 'workspaces' })).toBe(retriesBefore + 1);

    proxy.set('reset', 100);
    const res = await both();
    expect(res.body.data).toEqual({ me: { id: ada.id, name: 'ada' }, workspace: null });
    expect(unavailable(res.body)).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'workspaces', reason: 'CONNECTION_LOST' });
    expect(proxy.resetCount).toBe(2);

    proxy.set('reset', 100);
    const mutation = await graphqlRequest(gateway.url, CREATE_TODO, { token: ada.token, variables: { i: { workspaceId, title: 'Reset' } } });
    expect(unavailable(mutation.body)).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'workspaces', reason: 'CONNECTION_LOST' });
    expect(proxy.resetCount).toBe(1);

    proxy.set('pass');
    expect((await both()).body.errors).toBeUndefined();
  }, 60_000);
});
