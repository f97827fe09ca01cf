// The gateway's denial reporter against a hand-written audit stand-in (a real HTTP server): it
// batches, retries what audit refused, and drops (and counts) what overflows its buffer.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { InternalTokenMinter } from '@citadel/kit/auth';
import { generateSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { DenialAudit, type Denial } from './denial-audit';

const received: { action: string; changes: { after: { coordinates: string[] } } }[] = [];
let up = true;
let server: Server;
let url: string;
let minter: InternalTokenMinter;

beforeAll(async () => {
  minter = new InternalTokenMinter(await generateSigningKey());
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += String(c)));
    req.on('end', () => {
      if (!up) return res.writeHead(503).end();
      received.push(...(JSON.parse(body) as { events: typeof received }).events);
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const denial = (n: number): Denial => ({
  caller: { userId: null, sessionId: null },
  client: { ip: '203.0.113.9', userAgent: 'test' },
  requestId: `r${n}`,
  operationName: 'Op',
  coordinates: ['Query.users'],
  mode: 'filter',
});

describe('denial audit', () => {
  it('keeps denials while audit is down, sends them when it is back, and drops what overflows', async () => {
    const registry = new Registry();
    const audit = new DenialAudit({ auditUrl: url, minter, logger: createLogger('test', 'silent'), capacity: 5 });
    audit.useMetrics(registry);
    up = false;
    for (let i = 0; i < 8; i++) audit.record(denial(i));
    await audit.flush();
    expect(received).toEqual([]);
    up = true;
    await audit.flush();
    expect(received.map((e) => e.action)).toEqual(Array(5).fill('gateway.authorization.denied'));
    expect(received[0]!.changes.after.coordinates).toEqual(['Query.users']);
    expect(await registry.getSingleMetricAsString('citadel_audit_denials_dropped_total')).toMatch(/ 3$/m);
    await audit.flush();
    expect(received).toHaveLength(5); // sent once
  });
});

describe('denials audit refuses', () => {
  it('drops a refused batch (counted) instead of retrying it forever, and clips long operation names', async () => {
    let refused = 0;
    const strict = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += String(c)));
      req.on('end', () => {
        const events = (JSON.parse(body) as { events: { target: { id: string } }[] }).events;
        if (events.some((e) => e.target.id.length > 256)) {
          refused++;
          return res.writeHead(400).end('{}');
        }
        received.push(...(events as never[]));
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', resolve));
    try {
      const registry = new Registry();
      const audit = new DenialAudit({ auditUrl: `http://127.0.0.1:${(strict.address() as { port: number }).port}`, minter, logger: createLogger('test', 'silent') });
      audit.useMetrics(registry);
      const before = received.length;
      audit.record({ ...denial(1), operationName: 'A'.repeat(300) });
      await audit.flush();
      expect(refused).toBe(0);
      expect(received.length - before).toBe(1);
      expect((received.at(-1) as unknown as { operationName: string }).operationName).toHaveLength(200);
    } finally {
      await new Promise<void>((resolve) => strict.close(() => resolve()));
    }
  });
});
