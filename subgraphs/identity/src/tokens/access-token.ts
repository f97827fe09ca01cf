// Access tokens: EdDSA JWTs with `kid`, verified by the gateway against identity's JWKS.
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKey } from '@citadel/kit/keys';

export interface AccessTokenSettings {
  key: SigningKey;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export async function signAccessToken(
  settings: AccessTokenSettings,
  userId: string,
  sessionId: string,
  claims: { emailVerified: boolean; amr: string[] },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: sessionId, email_verified: claims.emailVerified, amr: claims.amr })
    .setProtectedHeader({ alg: 'EdDSA', kid: settings.key.kid, typ: 'at+jwt' })
    .setSubject(userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + settings.ttlSeconds)
    .sign(settings.key.privateKey);
}

/** 32 random bytes, base64url: what the client holds. */
export const newRefreshToken = (): string => randomBytes(32).toString('base64url');

/** What the database holds instead of the token. */
export const hashRefreshToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
