// The subgraph fetcher speaks plain HTTP/1.1 to a real server, keeps connections alive, fails loudly
// (saying whether an answer had begun), and closes the connection of a fetch it was told to abort.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { freePort } from '@citadel/kit/testing/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubgraphFetcher, SubgraphConnectionError } from './subgraph-fetcher';

let server: Server;
let base: string;
const sockets = new Set<Socket>();
let seen: { method?: string; headers: IncomingHttpHeaders; body: string } | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen = { method: req.method, headers: req.headers, body };
      if (req.url === '/down') {
        res.writeHead(502, 'Bad Gateway', { 'content-type': 'text/plain' });
        return res.end('upstream is down');
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'private', 'set-cookie': ['a=1', 'b=2'] });
      res.end(JSON.stringify({ data: { echo: body ? (JSON.parse(body) as unknown) : null, emoji: 'é✓' } }));
    });
  });
  server.keepAliveTimeout = 65_000;
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('createSubgraphFetcher', () => {
  it('POSTs the body with the headers given and hands back status, headers and the parsed JSON', async () => {
    const { fetch, close } = createSubgraphFetcher();
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer internal' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(seen).toMatchObject({ method: 'POST', body: '{"query":"{ me { id } }"}' });
    expect(seen!.headers).toMatchObject({ authorization: 'Bearer internal', 'content-type': 'application/json', 'content-length': '25' });
    expect(response).toMatchObject({ status: 200, ok: true, url: `${base}/graphql`, redirected: false, bodyUsed: false });
    expect(response.headers.get('Content-Type')).toBe('application/json');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(await response.json()).toEqual({ data: { echo: { query: '{ me { id } }' }, emoji: 'é✓' } });
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toThrow('already been read');
    close();
  });

  it('reuses one kept-alive connection for fetches one after another', async () => {
    const { fetch, close } = createSubgraphFetcher();
    sockets.clear();
    for (let i = 0; i < 5; i++) expect((await (await fetch(`${base}/graphql`, { method: 'POST', body: '{}' })).json()) as unknown).toHaveProperty('data');
    expect(sockets.size).toBe(1);
    close();
  });

  it('answers an HTTP error status with ok false and the body as text, for errorFromResponse', async () => {
    const { fetch, close } = createSubgraphFetcher();
    const response = await fetch(`${base}/down`, { method: 'POST', body: '{}' });
    expect(response).toMatchObject({ status: 502, ok: false, statusText: 'Bad Gateway' });
    const copy = response.clone();
    expect(await response.text()).toBe('upstream is down');
    expect(await copy.text()).toBe('upstream is down');
    close();
  });

  it('rejects when nothing answers, and refuses a URL that is not HTTP', async () => {
    const { fetch, close } = createSubgraphFetcher();
    await expect(fetch(`http://127.0.0.1:${await freePort()}/graphql`, { method: 'POST', body: '{}' })).rejects.toThrow(/ECONNREFUSED/);
    await expect(fetch('ftp://127.0.0.1/graphql')).rejects.toThrow('Unsupported subgraph URL protocol: ftp:');
    close();
  });

  it('says whether a failed fetch had an answer begun: refused (none) or cut off mid-body (some)', async () => {
    const { fetch, close } = createSubgraphFetcher();
    const refused = await fetch(`http://127.0.0.1:${await freePort()}/graphql`, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SubgraphConnectionError);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED', answered: false });
    // A subgraph that dies after its headers: the fetch must fail rather than wait for a body that never ends.
    const cut = createNetServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"data":')));
    const port = await freePort();
    await new Promise<void>((resolve) => cut.listen(port, '127.0.0.1', resolve));
    const partial = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect(partial).toBeInstanceOf(SubgraphConnectionError);
    expect(partial).toMatchObject({ answered: true });
    await new Promise<void>((resolve) => cut.close(() => resolve()));
    close();
  });

  it('closes the connection of a fetch its signal aborts, so no later fetch reads that answer', async () => {
    const { fetch, close } = createSubgraphFetcher();
    let closed = 0;
    const silent = createServer((req) => req.socket.once('close', () => closed++));
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    const controller = new AbortController();
    const pending = fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', body: '{}', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toThrow(/abort/i);
    for (const deadline = Date.now() + 5_000; closed === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(1);
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    close();
  });

  it('refuses options it cannot honour when built', () => {
    expect(() => createSubgraphFetcher({ maxSockets: 0 })).toThrow('maxSockets must be a positive integer');
    expect(() => createSubgraphFetcher({ idleTimeoutMs: -1 })).toThrow('idleTimeoutMs must be a positive integer');
  });
});
