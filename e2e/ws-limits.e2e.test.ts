// Threat: one client holding so many sockets or subscriptions open on a gateway node that it starves
// everyone else (WS_MAX_CONNECTIONS_PER_CLIENT, WS_MAX_SUBSCRIPTIONS_PER_CLIENT). The real platform, real sockets.
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { launch, type Platform } from './launcher';
import { metric, watch, within, wsClient, type Watched } from './subscription-client';

const MAX_CONNECTIONS = 3;
const MAX_SUBSCRIPTIONS = 4;
const PASSWORD = 'ws limits e2e passphrase';
const WATCH = 'subscription($w: ID!) { todoEvents(workspaceId: $w) { type todo { title } } }';

let platform: Platform;
let gql: string;
const sockets: WebSocket[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  platform = await launch({
    env: {
      WS_MAX_CONNECTIONS_PER_CLIENT: String(MAX_CONNECTIONS),
      WS_MAX_SUBSCRIPTIONS_PER_CLIENT: String(MAX_SUBSCRIPTIONS),
      // Anonymous tests pose as addresses of their own.
      TRUSTED_PROXY_HOPS: '1',
      WEB_APP: 'off',
    },
  });
  gql = `${platform.gatewayUrl}/graphql`;
}, 120_000);

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

afterAll(async () => {
  await platform?.stop();
});

async function newUser(): Promise<string> {
  const email = `ws-limits-${randomUUID()}@example.com`;
  await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: { email, password: PASSWORD, name: 'Limits' } } });
  const res = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
    variables: { i: { email, password: PASSWORD } },
  });
  return res.body.data!.login.accessToken;
}

interface Opened {
  socket: WebSocket;
  /** True once the gateway acknowledged the connection; false if it closed it instead. */
  acked: boolean;
  closed: Promise<{ code: number; reason: string }>;
}

/** A raw graphql-transport-ws socket through connection_init: acknowledged, or closed with a code. */
async function open(token?: string, forwardedFor?: string): Promise<Opened> {
  const socket = new WebSocket(gql.replace(/^http/, 'ws'), 'graphql-transport-ws', forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {});
  sockets.push(socket);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} }));
  const acked = await within(
    Promise.race([
      new Promise<boolean>((resolve) => socket.on('message', (data) => String(data).includes('"connection_ack"') && resolve(true))),
      closed.then(() => false),
    ]),
    5_000,
    'an answer to connection_init',
  );
  return { socket, acked, closed };
}

/** Closes a socket and waits until the gateway saw it go. */
async function closeAndWait(opened: Opened): Promise<void> {
  opened.socket.close();
  await opened.closed;
}

async function waitUntil(check: () => Promise<boolean>, what: string, limitMs = 5_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what} did not happen within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const active = () => metric(platform.gatewayUrl, 'citadel_gateway_subscriptions_active');
const refusedTotal = (reason: string) => metric(platform.gatewayUrl, 'citadel_gateway_ws_refused_total', { reason });

describe('connections per client', () => {
  it("closes a user's socket past the limit with 1008 and a reason, while another user connects; a closed socket frees its slot", async () => {
    const [ada, bob] = [await newUser(), await newUser()];
    const before = await refusedTotal('connections');
    const held: Opened[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) held.push(await open(ada));
    expect(held.map((o) => o.acked)).toEqual([true, true, true]);

    const refused = await open(ada);
    expect(refused.acked).toBe(false);
    expect(await refused.closed).toEqual({ code: 1008, reason: 'Too many connections for this client' });
    expect(await refusedTotal('connections')).toBe(before + 1);
    expect((await open(bob)).acked).toBe(true);

    await closeAndWait(held[0]!);
    // The gateway learns of the close a moment after the client does.
    let again: Opened | undefined;
    await waitUntil(async () => (again = await open(ada)).acked, 'a new socket after one closed');
    expect((await open(ada)).acked).toBe(false);
    expect(again!.acked).toBe(true);
  });

  it('does not make a graphql-ws client reconnect in a loop', async () => {
    const token = await newUser();
    for (let i = 0; i < MAX_CONNECTIONS; i++) expect((await open(token)).acked).toBe(true);
    let attempts = 0;
    const client = createClient({
      url: gql.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 5,
      retryWait: async () => {},
      lazy: true,
      on: { connecting: () => void attempts++ },
    });
    clients.push(client);
    const watched = watch(client, '{ me { id } }');
    const error = (await within(watched.ended, 5_000, 'the client giving up')) as { code?: number; reason?: string };
    expect([error.code, error.reason]).toEqual([1008, 'Too many connections for this client']);
    expect(attempts).toBe(1);
  });

  it('keys anonymous sockets by client address', async () => {
    for (let i = 0; i < MAX_CONNECTIONS; i++) expect((await open(undefined, '198.51.100.7')).acked).toBe(true);
    const refused = await open(undefined, '198.51.100.7');
    expect((await refused.closed).code).toBe(1008);
    expect((await open(undefined, '198.51.100.8')).acked).toBe(true);
  });
});

describe('subscriptions per client', () => {
  const live = async (client: Client, workspaceId: string, count: number): Promise<Watched[]> => {
    const before = await active();
    const started = Array.from({ length: count }, () => watch(client, WATCH, { w: workspaceId }));
    await waitUntil(async () => (await active()) === before + count, `${count} subscriptions starting`);
    return started;
  };

  const tooMany = async (client: Client, workspaceId: string): Promise<void> => {
    const refused = watch(client, WATCH, { w: workspaceId });
    await within(refused.ended, 5_000, 'the refusal');
    expect(refused.events).toEqual([
      {
        errors: [
          {
            message: `Too many subscriptions for this client (at most ${MAX_SUBSCRIPTIONS} at once); end one first`,
            extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: MAX_SUBSCRIPTIONS },
          },
        ],
      },
    ]);
  };

  it('counts across the sockets of a user, refuses the one past the limit with TOO_MANY_SUBSCRIPTIONS, and frees a slot when one completes', async () => {
    const token = await newUser();
    const created = await graphqlRequest<{ createWorkspace: { id: string } }>(gql, 'mutation { createWorkspace(name: "Limits") { id } }', { token });
    const workspaceId = created.body.data!.createWorkspace.id;
    const [one, two] = [wsClient(gql, token), wsClient(gql, token)];
    clients.push(one, two);

    const held = await live(one, workspaceId, 2);
    // Subscriptions that end on their own (no such workspace) give their slot back; the socket stays open meanwhile.
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) {
      const failed = watch(one, WATCH, { w: randomUUID() });
      await within(failed.ended, 5_000, 'a failed subscription ending');
      expect(failed.events.flatMap((e) => e.errors ?? []).map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    }
    held.push(...(await live(two, workspaceId, 2)));
    await tooMany(one, workspaceId);
    // The socket stays open, and queries and mutations are not counted.
    const query = watch<{ me: { id: string } }>(one, '{ me { id } }');
    const [answer] = await query.waitFor(1);
    expect(answer!.errors).toBeUndefined();
    expect(held.some((w) => w.isEnded())).toBe(false);

    const before = await active();
    held[0]!.unsubscribe();
    await waitUntil(async () => (await active()) < before, 'the completed subscription ending');
    const [replacement] = await live(one, workspaceId, 1);
    await graphqlRequest(gql, 'mutation($i: CreateTodoInput!) { createTodo(input: $i) { id } }', { token, variables: { i: { workspaceId, title: 'Seen by the replacement' } } });
    const [event] = await replacement!.waitFor(1);
    expect(event!.data).toEqual({ todoEvents: { type: 'CREATED', todo: { title: 'Seen by the replacement' } } });
    // Exactly one slot came back, not more.
    await tooMany(two, workspaceId);
  });

  it("frees a closed socket's subscriptions", async () => {
    const token = await newUser();
    const created = await graphqlRequest<{ createWorkspace: { id: string } }>(gql, 'mutation { createWorkspace(name: "Closing") { id } }', { token });
    const workspaceId = created.body.data!.createWorkspace.id;
    const [closing, staying] = [wsClient(gql, token), wsClient(gql, token)];
    clients.push(staying);
    await live(closing, workspaceId, 3);
    await live(staying, workspaceId, 1);
    await tooMany(staying, workspaceId);

    const before = await active();
    await closing.dispose();
    await waitUntil(async () => (await active()) <= before - 3, "the closed socket's subscriptions ending");
    await live(staying, workspaceId, 3);
    await tooMany(staying, workspaceId);
  });
});
