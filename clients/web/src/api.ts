// GraphQL over HTTP to the same origin's /graphql, with codegen's typed documents. Each document is
// sent as its text from the persisted-documents manifest, so a gateway that runs only manifest
// documents (PERSISTED_DOCUMENTS=only) accepts every request this app makes.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import manifest from './gql/persisted-documents.json';

const DOCUMENTS: Record<string, string> = manifest;

/** A GraphQL error the gateway answered with: its message and stable `extensions.code`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The manifest text of a generated document (its `__meta__.hash` names the entry). */
export function documentText(document: TypedDocumentNode<unknown, never>): string {
  const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  const text = hash ? DOCUMENTS[hash] : undefined;
  if (!text) throw new Error('This document is not in the persisted-documents manifest: run npm run codegen');
  return text;
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: unknown } }[];
}

/** One operation; resolves with its data or rejects with an ApiError (the first error). */
export async function execute<T, V extends Record<string, unknown>>(
  document: TypedDocumentNode<T, V>,
  variables: V,
  accessToken?: string,
): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: documentText(document as TypedDocumentNode<unknown, never>), variables }),
    });
  } catch {
    throw new ApiError('The server cannot be reached; check your connection and try again', 'NETWORK_ERROR');
  }
  let body: GraphQLBody<T>;
  try {
    body = (await response.json()) as GraphQLBody<T>;
  } catch {
    throw new ApiError(`The server answered ${response.status} without a GraphQL response`, 'BAD_RESPONSE');
  }
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, typeof first.extensions?.code === 'string' ? first.extensions.code : 'ERROR');
  if (!body.data) throw new ApiError(`The server answered ${response.status} with no data`, 'BAD_RESPONSE');
  return body.data;
}

/** A message fit to show a person: an ApiError's own message, never a stack. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong';
}
