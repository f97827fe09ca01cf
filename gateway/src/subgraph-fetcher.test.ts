// The subgraph fetcher speaks plain HTTP/1.1 to a real server, keeps connections alive, and fails loudly.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from '@citadel/kit/testing/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubgraphFetcher } from './subgraph-fetcher';

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

  it('refuses options it cannot honour when built', () => {
    expect(() => createSubgraphFetcher({ maxSockets: 0 })).toThrow('maxSockets must be a positive integer');
    expect(() => createSubgraphFetcher({ idleTimeoutMs: -1 })).toThrow('idleTimeoutMs must be a positive integer');
  });
});
