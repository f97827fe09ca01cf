// The signed-in session: access and refresh tokens in sessionStorage (this tab only), refreshed
// shortly before the access token expires, or once when the gateway calls it UNAUTHENTICATED.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ApiError, execute } from './api';
import {
  WebCompleteMfaDocument,
  WebLoginDocument,
  WebLogoutDocument,
  WebRefreshDocument,
  type WebSessionFragment,
} from './gql/graphql';

const KEY = 'citadel.session';
/** Refresh this long before the access token's expiry, so a request never races it. */
const REFRESH_MARGIN_MS = 30_000;

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
  user: { id: string; name: string; email: string };
}

export type SignInResult = { kind: 'signed-in'; session: Session } | { kind: 'mfa'; challenge: string };

let refreshing: Promise<Session> | undefined;
const endedListeners = new Set<(reason: string) => void>();

export function currentSession(): Session | undefined {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    sessionStorage.removeItem(KEY);
    return undefined;
  }
}

/** Called when the session ends without the person signing out (refresh refused). */
export function onSessionEnded(listener: (reason: string) => void): () => void {
  endedListeners.add(listener);
  return () => endedListeners.delete(listener);
}

function store(payload: WebSessionFragment): Session {
  if (!payload.accessToken || !payload.refreshToken || !payload.user) throw new ApiError('The server returned no tokens', 'BAD_RESPONSE');
  const session: Session = {
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    expiresAt: Date.now() + (payload.expiresIn ?? 0) * 1000,
    user: payload.user,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

function toResult(payload: WebSessionFragment): SignInResult {
  if (payload.mfaRequired) {
    if (!payload.mfaChallenge) throw new ApiError('The server asked for a second factor without a challenge', 'BAD_RESPONSE');
    return { kind: 'mfa', challenge: payload.mfaChallenge };
  }
  return { kind: 'signed-in', session: store(payload) };
}

export async function signIn(email: string, password: string): Promise<SignInResult> {
  const { login } = await execute(WebLoginDocument, { input: { email, password } });
  return toResult(login);
}

/** Six digits are an authenticator code; anything else is taken as a recovery code. */
export async function completeMfa(challenge: string, code: string): Promise<SignInResult> {
  const trimmed = code.trim();
  const input = /^\d{6}$/.test(trimmed) ? { challenge, code: trimmed } : { challenge, recoveryCode: trimmed };
  const { completeMfaChallenge } = await execute(WebCompleteMfaDocument, { input });
  return toResult(completeMfaChallenge);
}

function end(reason: string): void {
  sessionStorage.removeItem(KEY);
  for (const listener of endedListeners) listener(reason);
}

/** Trades the refresh token for new tokens, once at a time (a refresh token works once). */
function refresh(): Promise<Session> {
  refreshing ??= (async () => {
    const session = currentSession();
    if (!session) throw new ApiError('You are signed out', 'UNAUTHENTICATED');
    try {
      const { refreshToken } = await execute(WebRefreshDocument, { token: session.refreshToken });
      return store(refreshToken);
    } catch (error) {
      // A refused refresh token ends the session; a network failure does not.
      if (error instanceof ApiError && error.code !== 'NETWORK_ERROR') end(`Your session has ended: ${error.message}`);
      throw error;
    }
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

/** A usable access token, refreshed first when it is about to expire (or `force`). */
export async function accessToken(force = false): Promise<string> {
  const session = currentSession();
  if (!session) throw new ApiError('You are signed out', 'UNAUTHENTICATED');
  if (!force && session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return session.accessToken;
  return (await refresh()).accessToken;
}

/** An operation as the signed-in person; an UNAUTHENTICATED answer is retried once with fresh tokens. */
export async function authed<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables: V): Promise<T> {
  try {
    return await execute(document, variables, await accessToken());
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED') throw error;
    return execute(document, variables, await accessToken(true));
  }
}

/** Ends the session at the server (best effort) and forgets the tokens. */
export async function signOut(): Promise<void> {
  const session = currentSession();
  sessionStorage.removeItem(KEY);
  if (session) await execute(WebLogoutDocument, { refreshToken: session.refreshToken }).catch(() => undefined);
}
