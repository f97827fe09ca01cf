// Persisted documents: the operations codegen listed for our clients (clients/*/src/gql/persisted-documents.json),
// sent by hash (Apollo's extensions.persistedQuery) or in full, and in `only` mode the only ones that run.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { printExecutableGraphQLDocument } from '@graphql-tools/documents';
import { GraphQLError, parse, type GraphQLFormattedError } from 'graphql';

export type PersistedDocumentsMode = 'off' | 'allow' | 'only';

export const PERSISTED_DOCUMENTS_ERRORS = {
  /** A hash that is in no manifest (Apollo's code, so Apollo Client's link behaves as usual). */
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  /** `only` mode: a document text that is in no manifest. */
  PERSISTED_QUERY_NOT_ALLOWED: 'PERSISTED_QUERY_NOT_ALLOWED',
} as const;

/** Where codegen writes each client's manifest (see codegen.ts): the default of PERSISTED_DOCUMENTS_PATH. */
export function defaultManifestPaths(root: string): string[] {
  const clients = join(root, 'clients');
  if (!existsSync(clients)) return [];
  return readdirSync(clients, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(clients, entry.name, 'src', 'gql', 'persisted-documents.json'))
    .filter((path) => existsSync(path))
    .sort();
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** Manifests key documents `sha256:<hex>` (GraphQL over HTTP); Apollo sends bare hex. Both mean the same. */
const bareHash = (hash: string) => (hash.startsWith('sha256:') ? hash.slice('sha256:'.length) : hash).toLowerCase();

/** The documents of one or more manifests, by bare sha256 hex of codegen's normalized print. */
export class PersistedDocumentManifest {
  private readonly byHash = new Map<string, string>();
  /** Texts seen before and the hash they normalize to (only matches are kept, and at most a bounded number). */
  private readonly matched = new Map<string, string>();

  /**
   * Entries map `sha256:<hex>` (or `<hex>`) to the document text. A hash that is not the text's
   * sha256 is refused: the manifest was edited by hand or by another tool, and would let in a
   * document under a name it does not have.
   */
  constructor(entries: Record<string, unknown>, source = 'manifest') {
    for (const [key, text] of Object.entries(entries)) {
      if (typeof text !== 'string') throw new Error(`${source}: the document of ${key} is not a string`);
      const hash = bareHash(key);
      if (sha256(text) !== hash) throw new Error(`${source}: ${key} is not the sha256 of its document; run npm run codegen`);
      this.byHash.set(hash, text);
      this.matched.set(text, hash);
    }
  }

  static fromFiles(paths: readonly string[]): PersistedDocumentManifest {
    const entries: Record<string, unknown> = {};
    for (const path of paths) {
      const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${path}: expected an object of hash -> document`);
      // Validate each file on its own so an error names the file it is in.
      new PersistedDocumentManifest(parsed as Record<string, unknown>, path);
      Object.assign(entries, parsed);
    }
    return new PersistedDocumentManifest(entries);
  }

  get size(): number {
    return this.byHash.size;
  }

  /** The document for a hash (`sha256:<hex>` or `<hex>`). */
  get(hash: string): string | undefined {
    return this.byHash.get(bareHash(hash));
  }

  /**
   * The hash of a full document text when it is a manifest document, however it was formatted or
   * ordered: clients print their document nodes, codegen's manifest holds a normalized print.
   */
  match(query: string): string | undefined {
    const known = this.matched.get(query);
    if (known) return known;
    let normalized: string;
    try {
      normalized = printExecutableGraphQLDocument(parse(query, { noLocation: true }));
    } catch {
      return undefined; // not a document at all: certainly not ours
    }
    const hash = sha256(normalized);
    if (!this.byHash.has(hash)) return undefined;
    if (this.matched.size < this.byHash.size * 20) this.matched.set(query, hash);
    return hash;
  }
}

export interface PersistedDocumentsOptions {
  /**
   * `off`: requests are left alone (Apollo's automatic persisted queries as usual).
   * `allow`: a manifest hash may stand in for its document; anything else runs as without it.
   * `only`: only manifest documents run, by hash or in full. The production setting.
   */
  mode: PersistedDocumentsMode;
  manifest: PersistedDocumentManifest;
}

export interface OperationRequest {
  query?: string | null;
  extensions?: Record<string, unknown> | null;
}

export type Resolution =
  /** Run the request as it came (mode off, or `allow` and nothing of ours). */
  | { kind: 'as-is' }
  /** Run this manifest document; the persistedQuery extension is consumed. */
  | { kind: 'document'; query: string }
  | { kind: 'refused'; error: GraphQLError };

export interface PersistedDocuments {
  readonly mode: PersistedDocumentsMode;
  /** Documents now accepted. */
  readonly size: number;
  /**
   * Serve another manifest from the next request on (a release added documents). Refused, keeping
   * the current one, when `only` mode would be left with no document at all.
   */
  replace(manifest: PersistedDocumentManifest): void;
  /** What to run for a request (HTTP body or graphql-ws subscribe payload). */
  resolve(request: OperationRequest): Resolution;
  /** Applies resolve() to every operation Apollo runs: HTTP, and queries relayed from WebSocket. */
  plugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext>;
}

export function persistedDocuments(options: PersistedDocumentsOptions): PersistedDocuments {
  const { mode } = options;
  if (!['off', 'allow', 'only'].includes(mode)) throw new Error(`Unknown persisted documents mode: ${String(mode)}`);
  const checked = (next: PersistedDocumentManifest) => {
    if (mode === 'only' && next.size === 0) {
      throw new Error('PERSISTED_DOCUMENTS=only with no documents would refuse every operation; run npm run codegen or set PERSISTED_DOCUMENTS_PATH');
    }
    return next;
  };
  let manifest = checked(options.manifest);

  const notFound = () =>
    new GraphQLError('PersistedQueryNotFound', { extensions: { code: PERSISTED_DOCUMENTS_ERRORS.PERSISTED_QUERY_NOT_FOUND } });
  const notAllowed = () =>
    new GraphQLError('Only the persisted documents of Citadel clients may run on this gateway', {
      extensions: { code: PERSISTED_DOCUMENTS_ERRORS.PERSISTED_QUERY_NOT_ALLOWED },
    });

  const resolve = (request: OperationRequest): Resolution => {
    if (mode === 'off') return { kind: 'as-is' };
    const query = typeof request.query === 'string' && request.query.length > 0 ? request.query : undefined;
    const persisted = request.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
    const fallback = (error: () => GraphQLError): Resolution => (mode === 'only' ? { kind: 'refused', error: error() } : { kind: 'as-is' });
    // With a text, the text is what would run, so it decides, whatever hash came with it: Apollo
    // Client's link retries a hash it made itself with the text, which codegen's hash need not equal.
    if (query) {
      // Run as sent (same operation as the manifest's; the response keeps the client's field order).
      return manifest.match(query) ? { kind: 'document', query } : fallback(notAllowed);
    }
    const document = persisted && typeof persisted.sha256Hash === 'string' ? manifest.get(persisted.sha256Hash) : undefined;
    // In `allow` mode an unknown hash goes on to Apollo's own automatic persisted queries.
    return document ? { kind: 'document', query: document } : fallback(notFound);
  };

  const plugin = <TContext extends BaseContext>(): ApolloServerPlugin<TContext> => ({
    async requestDidStart({ request }) {
      const resolution = resolve(request);
      if (resolution.kind === 'as-is') return;
      if (resolution.kind === 'document') {
        request.query = resolution.query;
        if (request.extensions) request.extensions = withoutPersistedQuery(request.extensions);
        return;
      }
      // A plugin cannot answer from requestDidStart, so the request is emptied (Apollo answers
      // 400 without parsing anything) and the answer's errors are replaced by ours.
      request.query = undefined;
      if (request.extensions) request.extensions = withoutPersistedQuery(request.extensions);
      const error: GraphQLFormattedError = { message: resolution.error.message, extensions: resolution.error.extensions };
      return {
        async willSendResponse({ response }) {
          response.body = { kind: 'single', singleResult: { errors: [error] } };
        },
      };
    },
  });

  return {
    mode,
    get size() {
      return manifest.size;
    },
    replace: (next) => {
      manifest = checked(next);
    },
    resolve,
    plugin,
  };
}

export interface ManifestWatchOptions {
  paths: readonly string[];
  persisted: PersistedDocuments;
  onReload: (documents: number) => void;
  /** A file that cannot be read or is not a valid manifest: the previous documents keep serving. */
  onError: (error: unknown) => void;
  debounceMs?: number;
}

/**
 * Re-reads the manifests when one changes on disk, so a release's new documents are accepted
 * without a gateway restart. Folders are watched rather than files: codegen and deploy tools
 * replace a file (a new inode), which a watch on the old file would miss. Returns the closer.
 */
export function watchManifests(options: ManifestWatchOptions): () => void {
  const { paths, persisted, onReload, onError, debounceMs = 100 } = options;
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    try {
      const next = PersistedDocumentManifest.fromFiles(paths);
      persisted.replace(next);
      onReload(next.size);
    } catch (error) {
      onError(error);
    }
  };
  const names = new Map<string, Set<string>>();
  for (const path of paths) {
    const folder = dirname(path);
    names.set(folder, (names.get(folder) ?? new Set()).add(basename(path)));
  }
  const watchers: FSWatcher[] = [...names].map(([folder, files]) =>
    watch(folder, (_event, file) => {
      if (file !== null && !files.has(file.toString())) return;
      clearTimeout(timer);
      timer = setTimeout(reload, debounceMs);
    }),
  );
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}

function withoutPersistedQuery(extensions: Record<string, unknown>): Record<string, unknown> {
  const { persistedQuery: _persistedQuery, ...rest } = extensions;
  return rest;
}
