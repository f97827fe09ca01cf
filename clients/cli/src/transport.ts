// GraphQL over HTTP to the gateway. A document goes by its persisted hash first, so the CLI works
// against a gateway in PERSISTED_DOCUMENTS=only mode; a gateway that does not know the hash yet
// (APQ in `off` mode) says PERSISTED_QUERY_NOT_FOUND and gets the text with the hash.
import { readFileSync } from 'node:fs';
import { getOperationAST, print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ApiError, NetworkError } from './errors';

export interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: unknown };
}

interface ResponseBody<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<Response>;

/** The sha256 codegen put in the document's __meta__ (bare hex). */
export function persistedHash(document: DocumentNode): string | undefined {
  const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
  return typeof hash === 'string' ? hash.replace(/^sha256:/, '') : undefined;
}

/** Apollo's persisted-query extension for a document, as a gateway reads it over HTTP and graphql-ws. */
export function persistedExtensions(document: DocumentNode): { persistedQuery: { version: 1; sha256Hash: string } } | undefined {
  const sha256Hash = persistedHash(document);
  return sha256Hash ? { persistedQuery: { version: 1, sha256Hash } } : undefined;
}

let manifest: Record<string, string> | undefined;

/**
 * The text to send with a hash: the manifest's, whose sha256 the hash is (Apollo's APQ checks
 * that); a document missing from it (not expected) goes as printed, without the hash.
 */
export function documentText(document: DocumentNode): { query: string; hashed: boolean } {
  manifest ??= JSON.parse(readFileSync(new URL('./gql/persisted-documents.json', import.meta.url), 'utf8')) as Record<string, string>;
  const hash = persistedHash(document);
  const text = hash ? manifest[`sha256:${hash}`] : undefined;
  return text ? { query: text, hashed: true } : { query: print(document), hashed: false };
}

export function operationName(document: DocumentNode): string | undefined {
  return getOperationAST(document)?.name?.value;
}

/** The first error as an ApiError (code from extensions.code). */
export function toApiError(errors: readonly GraphQLErrorBody[]): ApiError {
  const first = errors[0]!;
  const code = typeof first.extensions?.code === 'string' ? first.extensions.code : 'GRAPHQL_ERROR';
  return new ApiError(code, first.message);
}

export class GatewayClient {
  constructor(
    readonly endpoint: string,
    private readonly fetchImpl: Fetch = fetch,
  ) {}

  /** Runs a query or mutation; the data, or an ApiError for the first error. */
  async request<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, variables: TVariables, token?: string): Promise<TData> {
    const extensions = persistedExtensions(document);
    const base = { operationName: operationName(document), variables };
    const text = () => documentText(document);
    let body = await this.post<TData>(extensions ? { ...base, extensions } : { ...base, query: text().query }, token);
    if (extensions && body.errors?.[0]?.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND') {
      const { query, hashed } = text();
      body = await this.post<TData>(hashed ? { ...base, extensions, query } : { ...base, query }, token);
    }
    if (body.errors?.length) throw toApiError(body.errors);
    if (!body.data) throw new NetworkError(`the gateway at ${this.endpoint} answered without data`);
    return body.data;
  }

  private async post<TData>(payload: Record<string, unknown>, token: string | undefined): Promise<ResponseBody<TData>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.fetchImpl(this.endpoint, { method: 'POST', headers, body: JSON.stringify(payload) });
    } catch {
      throw new NetworkError(`cannot reach the gateway at ${this.endpoint}`);
    }
    const text = await response.text();
    try {
      return JSON.parse(text) as ResponseBody<TData>;
    } catch {
      throw new NetworkError(`the gateway at ${this.endpoint} answered HTTP ${response.status} that is not GraphQL`);
    }
  }
}
