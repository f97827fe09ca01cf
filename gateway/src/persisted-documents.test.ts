import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { REPO_ROOT } from '@citadel/kit/paths';
import { describe, expect, it } from 'vitest';
import { defaultManifestPaths, PersistedDocumentManifest, persistedDocuments, watchManifests, type PersistedDocumentsMode } from './persisted-documents';

const ME = 'query Me { me { id name } }';
const hex = (text: string) => createHash('sha256').update(text).digest('hex');
const manifest = () => new PersistedDocumentManifest({ [`sha256:${hex(ME)}`]: ME });
const codeOf = (resolution: ReturnType<ReturnType<typeof persistedDocuments>['resolve']>) =>
  resolution.kind === 'refused' ? resolution.error.extensions.code : resolution.kind;

describe('PersistedDocumentManifest', () => {
  it('finds a document by prefixed or bare hash', () => {
    expect(manifest().get(`sha256:${hex(ME)}`)).toBe(ME);
    expect(manifest().get(hex(ME))).toBe(ME);
    expect(manifest().get(hex('query { other }'))).toBeUndefined();
  });

  it('matches a document text however it is formatted or ordered', () => {
    expect(manifest().match('query Me {\n  me {\n    name\n    id\n  }\n}\n')).toBe(hex(ME));
    expect(manifest().match('query Me { me { id name email } }')).toBeUndefined();
    expect(manifest().match('not graphql {')).toBeUndefined();
  });

  // A hand-edited manifest could slip in a document under another document's hash.
  it('refuses an entry whose hash is not its document', () => {
    expect(() => new PersistedDocumentManifest({ [`sha256:${hex(ME)}`]: 'query Evil { users { edges { node { email } } } }' })).toThrow(/not the sha256/);
  });

  it('loads the generated manifest of the cli client, found by default', () => {
    const paths = defaultManifestPaths(REPO_ROOT);
    expect(paths).toContain(join(REPO_ROOT, 'clients/cli/src/gql/persisted-documents.json'));
    const loaded = PersistedDocumentManifest.fromFiles(paths);
    expect(loaded.size).toBeGreaterThanOrEqual(11);
    expect(loaded.match('subscription TodoEvents($workspaceId: ID!) { todoEvents(workspaceId: $workspaceId) { type } }')).toBeUndefined();
  });

  it('names the file a bad manifest is in', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'citadel-pd-')), 'bad.json');
    writeFileSync(path, JSON.stringify({ abc: ME }));
    expect(() => PersistedDocumentManifest.fromFiles([path])).toThrow(path);
  });
});

describe('persistedDocuments', () => {
  const byHash = { extensions: { persistedQuery: { version: 1, sha256Hash: hex(ME) } } };
  const unknownHash = { extensions: { persistedQuery: { version: 1, sha256Hash: hex('query { x }') } } };
  const other = { query: 'query Users { users { totalCount } }' };
  const cases: [PersistedDocumentsMode, string, string, string, string][] = [
    // mode, by hash, by text, unknown hash, other text
    ['off', 'as-is', 'as-is', 'as-is', 'as-is'],
    ['allow', 'document', 'document', 'as-is', 'as-is'],
    ['only', 'document', 'document', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_ALLOWED'],
  ];
  it.each(cases)('in %s mode', (mode, hash, text, unknown, otherText) => {
    const persisted = persistedDocuments({ mode, manifest: manifest() });
    expect(codeOf(persisted.resolve(byHash))).toBe(hash);
    expect(codeOf(persisted.resolve({ query: 'query Me { me { name id } }' }))).toBe(text);
    expect(codeOf(persisted.resolve(unknownHash))).toBe(unknown);
    expect(codeOf(persisted.resolve(other))).toBe(otherText);
  });

  it('in only mode, refuses a known hash sent with another document text', () => {
    const persisted = persistedDocuments({ mode: 'only', manifest: manifest() });
    expect(codeOf(persisted.resolve({ ...byHash, query: other.query }))).toBe('PERSISTED_QUERY_NOT_ALLOWED');
    expect(codeOf(persisted.resolve({ ...byHash, query: ME }))).toBe('document');
    expect(codeOf(persisted.resolve({ query: '' }))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('refuses only mode without documents', () => {
    expect(() => persistedDocuments({ mode: 'only', manifest: new PersistedDocumentManifest({}) })).toThrow(/no documents/);
  });

  it('as an Apollo plugin, runs manifest documents by hash and refuses others in only mode', async () => {
    const persisted = persistedDocuments({ mode: 'only', manifest: manifest() });
    const server = new ApolloServer({
      typeDefs: 'type Query { me: User users: Int } type User { id: ID! name: String! }',
      resolvers: { Query: { me: () => ({ id: '1', name: 'Ada' }), users: () => 3 } },
      plugins: [persisted.plugin()],
    });
    await server.start();
    try {
      const hit = await server.executeOperation({ query: undefined, extensions: byHash.extensions } as never);
      expect(hit.body.kind === 'single' && hit.body.singleResult).toEqual({ data: { me: { id: '1', name: 'Ada' } } });
      const refused = await server.executeOperation({ query: 'query { users }' });
      expect(refused.http.status).toBe(400);
      expect(refused.body.kind === 'single' && refused.body.singleResult.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_ALLOWED']);
    } finally {
      await server.stop();
    }
  });
});

describe('watchManifests', () => {
  const ADDED = 'query Added { me { email } }';
  const entries = (...documents: string[]) => JSON.stringify(Object.fromEntries(documents.map((d) => [`sha256:${hex(d)}`, d])));

  it('accepts a release\'s new documents without a restart, and keeps serving through a bad file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citadel-manifest-'));
    const path = join(dir, 'persisted-documents.json');
    writeFileSync(path, entries(ME));
    const persisted = persistedDocuments({ mode: 'only', manifest: PersistedDocumentManifest.fromFiles([path]) });
    const errors: unknown[] = [];
    const stop = watchManifests({ paths: [path], persisted, onReload: () => {}, onError: (error) => errors.push(error), debounceMs: 10 });
    try {
      expect(codeOf(persisted.resolve({ query: ADDED }))).toBe('PERSISTED_QUERY_NOT_ALLOWED');
      // Replaced, not rewritten in place, as deploy tools do: a new file under the same name.
      writeFileSync(`${path}.next`, entries(ME, ADDED));
      renameSync(`${path}.next`, path);
      await expect.poll(() => codeOf(persisted.resolve({ query: ADDED })), { timeout: 5_000 }).toBe('document');

      writeFileSync(path, '{ not json');
      await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThan(0);
      expect(persisted.size).toBe(2);
      expect(codeOf(persisted.resolve({ query: ADDED }))).toBe('document');

      // An emptied manifest in only mode would refuse everything: refused, the previous one serves.
      writeFileSync(path, '{}');
      await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThan(1);
      expect(codeOf(persisted.resolve({ query: ME }))).toBe('document');
    } finally {
      stop();
    }
  });
});
