// Memory across supergraph updates (the growth Apollo Router #6838 reports): a gateway whose
// supergraph file changes 100 times while it serves must end with about the heap it started with,
// since every update replaces the schema, the query planner and their caches. The gateway runs with
// a small old space (--max-old-space-size), so V8 collects often and a leak shows as a rising floor
// of heap in use, or as the process running out of memory, well within the 100 updates.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@citadel/kit/paths';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { heapMib, memoryMib } from '../bench/load';
import { launch, startExtraGateway, type ExtraGateway, type Platform } from './launcher';
import { account, type Account } from './workspaces-helpers';

const UPDATES = 100;
/** What the floor of heap in use may gain over the updates: a tenth of one supergraph's schema and plans per update would exceed it. */
const FLOOR_GROWTH_BOUND_MIB = 40;
const DESCRIBED = 'Recomputes the hash chain over';

let platform: Platform;
let gateway: ExtraGateway;
let ada: Account;
let path: string;
let sdl: string;

beforeAll(async () => {
  platform = await launch();
  ada = await account(`${platform.gatewayUrl}/graphql`, 'ada@example.com');
  path = join(mkdtempSync(join(tmpdir(), 'citadel-supergraph-')), 'supergraph.graphql');
  sdl = readFileSync(join(REPO_ROOT, 'schema', 'supergraph.graphql'), 'utf8');
  expect(sdl).toContain(DESCRIBED);
  writeFileSync(path, sdl);
  gateway = await startExtraGateway(platform, { SUPERGRAPH_PATH: path }, ['--max-old-space-size=192']);
}, 180_000);

afterAll(async () => {
  await gateway?.stopped();
  await platform?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Which version the gateway serves: the one whose mark is in the field's description. */
async function servedVersion(): Promise<number | undefined> {
  const res = await graphqlRequest<{ __type: { fields: { description: string | null }[] } }>(gateway.url, '{ __type(name: "Query") { fields { description } } }', { token: ada.token });
  const described = res.body.data?.__type.fields.find((f) => f.description?.includes('the hash chain over'))?.description ?? '';
  const mark = /\(v(\d+)\)/.exec(described);
  return mark ? Number(mark[1]) : undefined;
}

/** Writes version `n` of the supergraph and waits until the gateway serves it. */
async function update(n: number): Promise<void> {
  writeFileSync(path, sdl.replace(DESCRIBED, `Recomputes (v${n}) the hash chain over`));
  const deadline = Date.now() + 20_000;
  while ((await servedVersion()) !== n) {
    if (Date.now() > deadline) throw new Error(`version ${n} not served within 20 s`);
    await sleep(50);
  }
}

/** Heap in use after V8 collected: the lowest of samples taken while the gateway plans and answers queries. */
async function heapFloorMib(): Promise<number> {
  const base = gateway.url.replace(/\/graphql$/, '');
  let floor = Infinity;
  for (let i = 0; i < 40; i++) {
    await Promise.all(Array.from({ length: 5 }, () => graphqlRequest(gateway.url, '{ me { id name } }', { token: ada.token })));
    floor = Math.min(floor, await heapMib(base));
    await sleep(50);
  }
  return floor;
}

describe('supergraph updates', () => {
  it(`keeps the heap floor flat over ${UPDATES} updates, answering throughout`, async () => {
    for (let n = 1; n <= 10; n++) await update(n); // warm-up: caches and code reach their working size
    const before = await heapFloorMib();
    const rssBefore = memoryMib(gateway.pid, 'VmRSS');
    const started = performance.now();
    for (let n = 11; n <= 10 + UPDATES; n++) {
      await update(n);
      const res = await graphqlRequest<{ me: { name: string } }>(gateway.url, '{ me { name } }', { token: ada.token });
      expect(res.body.data?.me.name).toBe('ada');
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await heapFloorMib();
    const rssAfter = memoryMib(gateway.pid, 'VmRSS');
    console.log(
      `${UPDATES} supergraph updates in ${seconds.toFixed(1)} s: heap floor ${before.toFixed(1)} → ${after.toFixed(1)} MiB (${(after - before).toFixed(1)} MiB), ` +
        `RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB, peak ${memoryMib(gateway.pid, 'VmHWM').toFixed(0)} MiB`,
    );
    expect(before).toBeGreaterThan(10);
    expect(after - before).toBeLessThan(FLOOR_GROWTH_BOUND_MIB);
  }, 600_000);
});
