// Verifies users' access tokens against identity's JWKS; a bad token is an error, never anonymity.
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ANONYMOUS, VerifiedTokens, type Caller } from '@citadel/kit/auth';
import { HttpError } from '@citadel/kit/http';
import { POLICIES } from '@citadel/kit/permissions';

/** A caller plus when their token stops being valid (ms since epoch; null when anonymous). */
export type VerifiedCaller = Caller & { expiresAt: number | null };

export interface AccessTokenVerifierOptions {
  /** identity's `/.well-known/jwks.json`, or a key set (tests). */
  jwks: string | JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /** Tokens issued longer ago than this are refused, whatever their `exp`. */
  maxAgeSeconds: number;
  /** Sessions that ended: their tokens are refused before they expire. */
  isRevoked?: (sessionId: string) => boolean;
  /** Tokens remembered as verified until they stop being valid. Default 10 000; 0 verifies every time. */
  cacheSize?: number;
}

export function createAccessTokenVerifier(options: AccessTokenVerifierOptions) {
  // Cached; an unknown `kid` triggers a refetch (at most one per 30 s cooldown).
  const keys =
    typeof options.jwks === 'string'
      ? createRemoteJWKSet(new URL(options.jwks), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 })
      : options.jwks;
  // A client sends the same token with every request for its lifetime, and an Ed25519
  // verification per request is pure cost: the token's exact text is remembered once it verified,
  // until the instant jwtVerify would refuse it (exp or maximum age). Revocation is still asked every time.
  const verified = new VerifiedTokens<VerifiedCaller>(options.cacheSize ?? 10_000);

  /** Returns the caller for an Authorization header; no header means anonymous. */
  return async function verify(authorization: string | undefined): Promise<VerifiedCaller> {
    if (!authorization) return { ...ANONYMOUS, expiresAt: null };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw unauthenticated('INVALID_TOKEN', 'Authorization header must be "Bearer <access token>"');
    const token = match[1];
    const known = verified.get(token);
    if (known) {
      if (known.sessionId && options.isRevoked?.(known.sessionId)) throw unauthenticated('SESSION_REVOKED', 'This session has ended; sign in again');
      return { ...known, permissions: [], policies: [...known.policies] };
    }
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ['EdDSA'],
        requiredClaims: ['sub', 'exp', 'iat'],
        // identity signs service tokens with the same key: only an access token's type is accepted.
        typ: 'at+jwt',
        maxTokenAge: options.maxAgeSeconds,
      });
      const sessionId = typeof payload.sid === 'string' ? payload.sid : null;
      if (sessionId && options.isRevoked?.(sessionId)) {
        throw unauthenticated('SESSION_REVOKED', 'This session has ended; sign in again');
      }
      // Permissions are filled in from authz afterwards; policies come from the session itself.
      // The token stops being accepted at its `exp` or when it grows older than the maximum age, whichever comes first.
      const expiresAt = Math.min(payload.exp! * 1000, (payload.iat! + options.maxAgeSeconds) * 1000);
      const caller = { userId: String(payload.sub), sessionId, permissions: [], policies: sessionPolicies(payload as { amr?: unknown; email_verified?: unknown }), expiresAt };
      verified.set(token, { ...caller, policies: [...caller.policies] }, expiresAt);
      return caller;
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (error instanceof errors.JWTExpired) throw unauthenticated('TOKEN_EXPIRED', 'Access token has expired');
      if (isKeySetUnavailable(error)) {
        throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'Cannot verify tokens right now; try again shortly');
      }
      if (error instanceof errors.JOSEError) throw unauthenticated('INVALID_TOKEN', 'Access token is invalid');
      throw error;
    }
  };
}

/** `mfa` when the session passed a second factor, `verified` when the address is verified. */
export function sessionPolicies(payload: { amr?: unknown; email_verified?: unknown }): string[] {
  const policies: string[] = [];
  if (Array.isArray(payload.amr) && payload.amr.includes('otp')) policies.push(POLICIES.mfa);
  if (payload.email_verified === true) policies.push(POLICIES.verified);
  return policies;
}

function unauthenticated(reason: string, message: string): HttpError {
  return new HttpError(401, 'UNAUTHENTICATED', message, { reason });
}

/** identity's JWKS could not be had (down, timing out, answering an error or garbage): not the client's fault. */
function isKeySetUnavailable(error: unknown): boolean {
  if (error instanceof TypeError && /fetch failed/i.test(error.message)) return true;
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  // jose reports a non-200 JWKS response with its base error class and code.
  return error instanceof errors.JOSEError && error.constructor === errors.JOSEError && error.code === 'ERR_JOSE_GENERIC';
}
