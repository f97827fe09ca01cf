// The internal token: minted by the gateway per subgraph fetch, verified by every subgraph.
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { SigningKey } from './keys';

export const INTERNAL_ISSUER = 'citadel-gateway';
const INTERNAL_TTL_SECONDS = 60;
/** A cached token is reused while it has at least this long to live. */
const REUSE_MARGIN_SECONDS = 15;

/** Who is calling, as the gateway vouches for it. */
export interface Caller {
  userId: string | null;
  sessionId: string | null;
  /** Global permission codes (authz), the scopes of `@requiresScopes`. */
  permissions: readonly string[];
  /** Policies the session satisfies (`mfa`, `verified`), for `@policy`. */
  policies: readonly string[];
}

/** Where a request came from, as the gateway saw it. Subgraphs trust it only with an internal token. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export const CLIENT_IP_HEADER = 'x-citadel-client-ip';
export const CLIENT_UA_HEADER = 'x-citadel-user-agent';
/** The client's operation name, for audit events (subgraph fetches carry generated names). */
export const OPERATION_NAME_HEADER = 'x-citadel-operation-name';

export const ANONYMOUS: Caller = Object.freeze({ userId: null, sessionId: null, permissions: [], policies: [] });

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
    const cacheKey = `${audience}|${caller.userId ?? ''}|${caller.sessionId ?? ''}|${caller.permissions.join(',')}|${caller.policies.join(',')}`;
    const now = Math.floor(Date.now() / 1000);
    const cached = this.cache.get(cacheKey);
    if (cached && cached.exp - now > REUSE_MARGIN_SECONDS) return cached.token;
    const exp = now + INTERNAL_TTL_SECONDS;
    const jwt = new SignJWT({ sid: caller.sessionId ?? undefined, perms: [...caller.permissions], pol: [...caller.policies] })
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
  /** Tokens remembered as verified (the gateway reuses each for up to a minute). Default 10 000; 0 verifies every time. */
  cacheSize?: number;
}

/** Subgraph side: turns an Authorization header into a Caller or throws InternalTokenError. */
export function createInternalTokenVerifier(options: InternalTokenVerifierOptions) {
  const keys = typeof options.jwks === 'string' ? createRemoteJWKSet(new URL(options.jwks)) : options.jwks;
  const verified = new VerifiedTokens<Readonly<Caller>>(options.cacheSize ?? 10_000);
  return async function verifyInternalToken(authorization: string | undefined): Promise<Caller> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) throw new InternalTokenError('Missing internal token: subgraphs are reached through the gateway');
    const token = match[1];
    const known = verified.get(token);
    if (known) return { ...known };
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: INTERNAL_ISSUER,
        audience: options.audience,
        algorithms: ['EdDSA'],
        typ: 'citadel-internal+jwt',
        requiredClaims: ['exp'],
      });
      const caller: Caller = {
        userId: typeof payload.sub === 'string' ? payload.sub : null,
        sessionId: typeof payload.sid === 'string' ? payload.sid : null,
        permissions: strings(payload.perms),
        policies: strings(payload.pol),
      };
      const frozen = Object.freeze({ ...caller, permissions: Object.freeze([...caller.permissions]), policies: Object.freeze([...caller.policies]) });
      verified.set(token, frozen as Caller, payload.exp! * 1000);
      return { ...caller };
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw new InternalTokenError(`Invalid internal token (${error.code})`);
      throw error;
    }
  };
}

/**
 * Tokens already verified, by their exact text, until the instant verification would refuse them.
 * A token's text fixes everything it says (caller, audience, permissions), so a hit is the answer
 * jwtVerify would give; only successful verifications are remembered. Used by subgraphs for the
 * gateway's internal tokens (resent for a minute) and by the gateway for access tokens.
 */
export class VerifiedTokens<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();

  /** `size`: most tokens kept; 0 keeps none (every token is verified every time). */
  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`cacheSize must be a non-negative integer, got ${size}`);
  }

  get(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.value;
  }

  /** `expiresAt`: epoch milliseconds after which the token is no longer valid. */
  set(token: string, value: T, expiresAt: number): void {
    if (this.size === 0) return;
    if (this.entries.size >= this.size) {
      const now = Date.now();
      for (const [k, v] of this.entries) if (v.expiresAt <= now) this.entries.delete(k);
      // Still full of live tokens: drop the oldest.
      if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(token, { value, expiresAt });
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

const SERVICE_TTL_SECONDS = 60;
export const SERVICE_TOKEN_TYPE = 'citadel-service+jwt';

/**
 * Service to service: a platform service (identity, workspaces, ...) calling another's internal
 * endpoint signs with its own key; `iss` names it. Reused like internal tokens.
 */
export class ServiceTokenMinter {
  private readonly cache = new Map<string, { token: string; exp: number }>();

  constructor(
    private readonly service: string,
    private readonly key: SigningKey,
  ) {}

  async mint(audience: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const cached = this.cache.get(audience);
    if (cached && cached.exp - now > REUSE_MARGIN_SECONDS) return cached.token;
    const exp = now + SERVICE_TTL_SECONDS;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid, typ: SERVICE_TOKEN_TYPE })
      .setIssuer(this.service)
      .setSubject(`service:${this.service}`)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.key.privateKey);
    this.cache.set(audience, { token, exp });
    return token;
  }
}

export interface ServiceTokenVerifierOptions {
  /** This service's name: tokens for another audience are refused. */
  audience: string;
  /** Each platform service allowed to call, and where it publishes its keys (or a key set for tests). */
  services: Record<string, string | JWTVerifyGetKey>;
}

/** Returns the calling service's name, or throws InternalTokenError. */
export function createServiceTokenVerifier(options: ServiceTokenVerifierOptions) {
  const keySets = new Map(
    Object.entries(options.services).map(([name, jwks]) => [name, typeof jwks === 'string' ? createRemoteJWKSet(new URL(jwks)) : jwks]),
  );
  return async function verifyServiceToken(authorization: string | undefined): Promise<string> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) throw new InternalTokenError('Missing service token');
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(match[1]).iss;
    } catch {
      throw new InternalTokenError('Malformed service token');
    }
    const keys = issuer ? keySets.get(issuer) : undefined;
    if (!issuer || !keys) throw new InternalTokenError('Unknown calling service');
    try {
      await jwtVerify(match[1], keys, { issuer, audience: options.audience, algorithms: ['EdDSA'], typ: SERVICE_TOKEN_TYPE });
      return issuer;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw new InternalTokenError(`Invalid service token (${error.code})`);
      throw error;
    }
  };
}

/** `identity=http://…/jwks.json` pairs (SERVICE_JWKS_URLS) into a map; a malformed pair is a start-up error. */
export function serviceKeySets(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`SERVICE_JWKS_URLS: "${pair}" is not name=url`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}
