// Signed-in calls: the stored access token, refreshed shortly before it expires or when the gateway
// says UNAUTHENTICATED; every rotated refresh token is stored at once, since the old one is spent.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { RefreshTokenDocument, type AuthSessionFragment } from './gql/graphql';
import type { CredentialsStore, StoredSession } from './credentials';
import { ApiError, CliError, EXIT, NotSignedIn } from './errors';
import type { GatewayClient } from './transport';

/** Refresh this long before the access token expires, so it does not expire in flight. */
const EXPIRY_MARGIN_MS = 30_000;

/** A signed-in AuthPayload as a stored session; an error when it carries no tokens. */
export function sessionFromPayload(payload: AuthSessionFragment, now: number): StoredSession {
  if (!payload.accessToken || !payload.refreshToken || !payload.user) {
    throw new CliError('MFA_REQUIRED', 'the gateway returned no tokens (a second factor is needed)', EXIT.AUTH);
  }
  return {
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    expiresAt: new Date(now + (payload.expiresIn ?? 0) * 1000).toISOString(),
    user: { id: payload.user.id, email: payload.user.email, name: payload.user.name },
  };
}

export class Session {
  constructor(
    readonly client: GatewayClient,
    readonly store: CredentialsStore,
    private readonly now: () => number = Date.now,
  ) {}

  get endpoint(): string {
    return this.client.endpoint;
  }

  stored(): StoredSession | undefined {
    return this.store.get(this.endpoint);
  }

  /** A usable access token: the stored one, or a fresh one when it is (nearly) expired. */
  async accessToken(): Promise<string> {
    const session = this.stored();
    if (!session) throw new NotSignedIn(this.endpoint);
    if (Date.parse(session.expiresAt) - this.now() > EXPIRY_MARGIN_MS) return session.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Trades the refresh token for new tokens and stores them; NotSignedIn-like error when the session is over. */
  async refresh(): Promise<StoredSession> {
    const session = this.stored();
    if (!session) throw new NotSignedIn(this.endpoint);
    let payload: AuthSessionFragment;
    try {
      ({ refreshToken: payload } = await this.client.request(RefreshTokenDocument, { token: session.refreshToken }));
    } catch (error) {
      if (error instanceof ApiError && (error.code === 'INVALID_REFRESH_TOKEN' || error.code === 'ACCOUNT_DISABLED')) {
        this.store.delete(this.endpoint);
        throw new CliError(error.code, `${error.message}; run \`citadel login\``, EXIT.AUTH);
      }
      throw error;
    }
    const fresh = sessionFromPayload(payload, this.now());
    this.store.set(this.endpoint, fresh);
    return fresh;
  }

  /** A call as the signed-in user; retried once with refreshed tokens on UNAUTHENTICATED. */
  async call<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, variables: TVariables): Promise<TData> {
    const token = await this.accessToken();
    try {
      return await this.client.request(document, variables, token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED') throw error;
      const fresh = await this.refresh();
      return this.client.request(document, variables, fresh.accessToken);
    }
  }
}
