// A gateway with PERSISTED_DOCUMENTS=only, beside the platform: the cli client's generated
// documents run, by hash or in full, over HTTP and WebSocket; any other document is refused.
// Threat: a stolen token used with hand-written operations (scraping, probing the schema).
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printExecutableGraphQLDocument } from '@graphql-tools/documents';
import { parse, print, type DocumentNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@citadel/kit/paths';
import { CreateTodoDocument, CreateWorkspaceDocument, MeDocument, TodoEventsDocument, type TodoEventsSubscription } from '../clients/cli/src/gql/graphql';
import { launch, startExtraGateway, type ExtraGateway, type Platform } from './launcher';
import { watch, within, wsClient } from './subscription-client';
import { account, ok, type Account } from './workspaces-helpers';

const hashOf = (document: DocumentNode): string => (document as { __meta__?: { hash: string } }).__meta__!.hash;
const byHash = (document: DocumentNode) => ({ persistedQuery: { version: 1, sha256Hash: hashOf(document).replace(/^sha256:/, '') } });

let platform: Platform;
let only: ExtraGateway;
let ada: Account;
/** A copy of the cli's manifest that the `only` gateway serves, so a test can release new documents. */
let manifestPath: string;

async function post(body: Record<string, unknown>, token = ada.token) {
  const res = await fetch(only.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown>; errors?: { extensions?: { code?: string } }[] } };
}

const codes = (body: { errors?: { extensions?: { code?: string } }[] }) => (body.errors ?? []).map((e) => e.extensions?.code);

beforeAll(async () => {
  platform = await launch();
  manifestPath = join(mkdtempSync(join(tmpdir(), 'citadel-manifest-')), 'persisted-documents.json');
  copyFileSync(join(REPO_ROOT, 'clients/cli/src/gql/persisted-documents.json'), manifestPath);
  only = await startExtraGateway(platform, { PERSISTED_DOCUMENTS: 'only', PERSISTED_DOCUMENTS_PATH: manifestPath });
  ada = await account(`${platform.gatewayUrl}/graphql`, `ada-${randomUUID().slice(0, 8)}@example.com`);
});

afterAll(async () => {
  only?.stop();
  await platform?.stop();
});

describe('PERSISTED_DOCUMENTS=only over HTTP', () => {
  it('runs a manifest document sent by hash alone', async () => {
    const { status, body } = await post({ extensions: byHash(MeDocument) });
    expect(status).toBe(200);
    expect(body.data).toEqual({ me: expect.objectContaining({ id: ada.id, email: ada.email }) });
  });

  it('runs a manifest document sent in full, as the client prints it', async () => {
    const { body } = await post({ query: print(MeDocument) });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ me: expect.objectContaining({ id: ada.id }) });
  });

  it('refuses a document that is in no manifest', async () => {
    const { status, body } = await post({ query: '{ me { id email roles { role { name } } } }' });
    expect(status).toBe(400);
    expect(codes(body)).toEqual(['PERSISTED_QUERY_NOT_ALLOWED']);
    expect(body.data).toBeUndefined();
  });

  it('refuses a hash that is in no manifest', async () => {
    const { body } = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } });
    expect(codes(body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });

  it("accepts a release's new document once its manifest is deployed, without a restart", async () => {
    const query = 'query ReleaseTwo { me { id name } }';
    expect(codes((await post({ query })).body)).toEqual(['PERSISTED_QUERY_NOT_ALLOWED']);
    const text = printExecutableGraphQLDocument(parse(query));
    const entries = { ...(JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, string>) };
    entries[`sha256:${createHash('sha256').update(text).digest('hex')}`] = text;
    writeFileSync(`${manifestPath}.next`, JSON.stringify(entries));
    renameSync(`${manifestPath}.next`, manifestPath);
    await expect.poll(async () => (await post({ query })).body.data, { timeout: 10_000 }).toEqual({ me: { id: ada.id, name: expect.any(String) } });
    // The documents from before the release still run.
    expect((await post({ extensions: byHash(MeDocument) })).body.data).toEqual({ me: expect.objectContaining({ id: ada.id }) });
  });
});

describe('PERSISTED_DOCUMENTS=only over WebSocket', () => {
  it('runs queries and subscriptions by hash and in full, and refuses other documents', async () => {
    const client = wsClient(only.url, ada.token);
    try {
      const me = watch(client, print(MeDocument));
      await me.waitFor(1);
      expect(me.events[0]).toEqual({ data: { me: expect.objectContaining({ id: ada.id }) } });

      const stranger = watch(client, '{ me { id email } }');
      await within(stranger.ended, 5_000, 'refusal');
      expect(JSON.stringify(await stranger.ended)).toContain('PERSISTED_QUERY_NOT_ALLOWED');

      const { createWorkspace } = (await post({ extensions: byHash(CreateWorkspaceDocument), variables: { name: 'Persisted' } })).body.data as {
        createWorkspace: { id: string };
      };
      const events: { data?: TodoEventsSubscription }[] = [];
      const byHashSubscription = new Promise<void>((resolve, reject) => {
        client.subscribe<TodoEventsSubscription>(
          { query: '', variables: { workspaceId: createWorkspace.id }, extensions: byHash(TodoEventsDocument) },
          {
            next: (value) => {
              events.push(value as { data?: TodoEventsSubscription });
              resolve();
            },
            error: reject,
            complete: () => reject(new Error('subscription ended')),
          },
        );
      });
      const inFull = watch<TodoEventsSubscription>(client, print(TodoEventsDocument), { workspaceId: createWorkspace.id });
      await new Promise((r) => setTimeout(r, 500)); // both subscriptions set up upstream
      await ok(`${platform.gatewayUrl}/graphql`, ada.token, print(CreateTodoDocument), { input: { workspaceId: createWorkspace.id, title: 'From the manifest' } });
      await within(byHashSubscription, 10_000, 'an event by hash');
      await inFull.waitFor(1);
      expect(events[0]?.data?.todoEvents).toMatchObject({ type: 'CREATED', todo: { title: 'From the manifest' } });
      expect(inFull.events[0]?.data?.todoEvents).toMatchObject({ type: 'CREATED', todo: { title: 'From the manifest' } });

      const otherSubscription = watch(client, 'subscription($w: ID!) { todoEvents(workspaceId: $w) { type } }', { w: createWorkspace.id });
      await within(otherSubscription.ended, 5_000, 'refusal');
      expect(JSON.stringify(await otherSubscription.ended)).toContain('PERSISTED_QUERY_NOT_ALLOWED');
    } finally {
      await client.dispose();
    }
  });
});
