// The internal token: minted by the gateway per subgraph fetch, verified by every subgraph.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { SigningKey } from './keys';

export const INTERNAL_ISSUER = 'citadel-gateway';
const INTERNAL_TTL_SECONDS = 60;
/** A cached token is reused while it has at least this long to live. */
const REUSE_MARGIN_SECONDS = 15;

/** Who is calling, as the gateway vouches for it. */
export interface Caller {
  userId: string | null;
  sessionId: string | null;
  permissions: readonly string[];
}

/** Where a request came from, as the gateway saw it. Subgraphs trust it only with an internal token. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export const CLIENT_IP_HEADER = 'x-citadel-client-ip';
export const CLIENT_UA_HEADER = 'x-citadel-user-agent';

export const ANONYMOUS: Caller = Object.freeze({ userId: null, sessionId: null, permissions: [] });

export class InternalTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InternalTokenError';
  }
}

/** Gateway side: signs short-lived tokens and reuses one while it is still fresh. */
export class InternalTokenMinter {
  private readonly cache = new Map<string, { token: string; exp: number }>();

  constructor(private readonly key: SigningKey) {}

  async mint(caller: Caller, audience: string): Promise<string> {
    const cacheKey = `${audience}|${caller.userId ?? ''}|${caller.sessionId ?? ''}|${caller.permissions.join(',')}`;
    const now = Math.floor(Date.now() / 1000);
    const cached = this.cache.get(cacheKey);
    if (cached && cached.exp - now > REUSE_MARGIN_SECONDS) return cached.token;
    const exp = now + INTERNAL_TTL_SECONDS;
    const jwt = new SignJWT({ sid: caller.sessionId ?? undefined, perms: [...caller.permissions] })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid, typ: 'citadel-internal+jwt' })
      .setIssuer(INTERNAL_ISSUER)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(exp);
    if (caller.userId) jwt.setSubject(caller.userId);
    const token = await jwt.sign(this.key.privateKey);
    if (this.cache.size > 10_000) this.sweep(now);
    this.cache.set(cacheKey, { token, exp });
    return token;
  }

  private sweep(now: number): void {
    for (const [k, v] of this.cache) if (v.exp - now <= REUSE_MARGIN_SECONDS) this.cache.delete(k);
  }
}

export interface InternalTokenVerifierOptions {
  /** The subgraph's name: tokens minted for another audience are refused. */
  audience: string;
  /** Where the gateway publishes its keys, or a key set for tests. */
  jwks: string | JWTVerifyGetKey;
}

/** Subgraph side: turns an Authorization header into a Caller or throws InternalTokenError. */
export function createInternalTokenVerifier(options: InternalTokenVerifierOptions) {
  const keys = typeof options.jwks === 'string' ? createRemoteJWKSet(new URL(options.jwks)) : options.jwks;
  return async function verifyInternalToken(authorization: string | undefined): Promise<Caller> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) throw new InternalTokenError('Missing internal token: subgraphs are reached through the gateway');
    try {
      const { payload } = await jwtVerify(match[1], keys, {
        issuer: INTERNAL_ISSUER,
        audience: options.audience,
        algorithms: ['EdDSA'],
        typ: 'citadel-internal+jwt',
      });
      const perms = Array.isArray(payload.perms) ? payload.perms.filter((p): p is string => typeof p === 'string') : [];
      return {
        userId: typeof payload.sub === 'string' ? payload.sub : null,
        sessionId: typeof payload.sid === 'string' ? payload.sid : null,
        permissions: perms,
      };
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw new InternalTokenError(`Invalid internal token (${error.code})`);
      throw error;
    }
  };
}
