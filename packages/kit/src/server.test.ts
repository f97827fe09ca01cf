// The service server's own refusals: requests Node's parser rejects still get JSON errors.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger';
import { createServiceServer, type ServiceServer } from './server';

let server: ServiceServer;
let port: number;

beforeAll(async () => {
  server = createServiceServer({ service: 'test', logger: createLogger('test', 'silent'), routes: { '/x': (_req, res) => void res.end('ok') }, ready: async () => true });
  port = await server.listen(0, '127.0.0.1');
});
afterAll(() => server.close());

function post(headers: Record<string, string>): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/x', method: 'POST', headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

const code = (body: string) => (JSON.parse(body) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code;

describe('requests Node refuses', () => {
  it('serves an ordinary request', async () => {
    expect((await post({})).body).toBe('ok');
  });

  // Found by the fuzz suite: Node answered these with an empty body that no GraphQL client can read.
  it('answers headers past the 16 KiB limit with a JSON 431', async () => {
    const res = await post({ authorization: 'x'.repeat(20_000) });
    expect(res.status).toBe(431);
    expect(res.type).toMatch(/^application\/json/);
    expect(code(res.body)).toBe('REQUEST_HEADER_FIELDS_TOO_LARGE');
  });

  it('answers a request whose Host was dropped (1 500 headers) with a JSON 400', async () => {
    const res = await post(Object.fromEntries(Array.from({ length: 1_500 }, (_, i) => [`x-h${i}`, 'v'])));
    expect(res.status).toBe(400);
    expect(code(res.body)).toBe('BAD_REQUEST');
  });
});
