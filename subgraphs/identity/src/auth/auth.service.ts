// Login, refresh-token rotation and logout. Sessions are the unit a refresh token keeps alive.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { invalidCredentials, invalidRefreshToken } from '../identity.errors';
import type { PasswordHasher } from '../passwords/password-hasher';
import { MAX_PASSWORD_LENGTH } from '../passwords/password-policy';
import { hashRefreshToken, newRefreshToken, signAccessToken, type AccessTokenSettings } from '../tokens/access-token';
import { normalizeEmail } from '../users/email';
import { User } from '../users/user.entity';
import { RefreshToken, Session } from './session.entity';

export interface AuthResult {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

export interface AuthServiceSettings {
  accessToken: AccessTokenSettings;
  refreshTokenTtlDays: number;
}

export class AuthService {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly settings: AuthServiceSettings,
  ) {}

  /** Wrong password and unknown email take the same time and give the same error. */
  async login(em: EntityManager, email: string, password: string): Promise<AuthResult> {
    const canonical = tryCanonical(email);
    const user = canonical
      ? await em.findOne(User, { emailCanonical: canonical }, { populate: ['passwordHash'] })
      : null;
    const candidate = password.length <= MAX_PASSWORD_LENGTH * 4 ? password : '';
    const ok = await this.hasher.verify(user?.passwordHash, candidate);
    if (!user || !ok) throw invalidCredentials();
    if (this.hasher.needsRehash(user.passwordHash)) user.passwordHash = await this.hasher.hash(password);
    const session = em.create(Session, { id: randomUUID(), user, createdAt: new Date() });
    return this.issue(em, session);
  }

  /**
   * Rotation: the presented token is claimed by one atomic UPDATE, so it works exactly once
   * even when two requests race. Presenting a used token again ends its session (reuse detection).
   */
  async refresh(em: EntityManager, token: string): Promise<AuthResult> {
    const tokenHash = hashRefreshToken(token);
    const now = new Date();
    const claimed = await em.nativeUpdate(
      RefreshToken,
      { tokenHash, usedAt: null, expiresAt: { $gt: now } },
      { usedAt: now },
    );
    if (claimed === 0) {
      const known = await em.findOne(RefreshToken, { tokenHash });
      if (known?.usedAt) await this.revokeSession(em, known.session.id, 'REFRESH_TOKEN_REUSED');
      throw invalidRefreshToken();
    }
    const stored = await em.findOneOrFail(RefreshToken, { tokenHash }, { populate: ['session', 'session.user'] });
    if (stored.session.revokedAt) throw invalidRefreshToken();
    return this.issue(em, stored.session);
  }

  /** Ends the session the refresh token belongs to; its refresh tokens stop working at once. */
  async logout(em: EntityManager, token: string): Promise<boolean> {
    const known = await em.findOne(RefreshToken, { tokenHash: hashRefreshToken(token) });
    if (!known) throw invalidRefreshToken();
    await this.revokeSession(em, known.session.id, 'LOGOUT');
    return true;
  }

  private async revokeSession(em: EntityManager, sessionId: string, reason: string): Promise<void> {
    await em.nativeUpdate(Session, { id: sessionId, revokedAt: null }, { revokedAt: new Date(), revokedReason: reason });
  }

  private async issue(em: EntityManager, session: Session): Promise<AuthResult> {
    const refreshToken = newRefreshToken();
    em.create(RefreshToken, {
      id: randomUUID(),
      session,
      tokenHash: hashRefreshToken(refreshToken),
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + this.settings.refreshTokenTtlDays * 86_400_000),
    });
    await em.flush();
    const accessToken = await signAccessToken(this.settings.accessToken, session.user.id, session.id);
    return { accessToken, refreshToken, expiresIn: this.settings.accessToken.ttlSeconds, user: session.user };
  }
}

function tryCanonical(email: string): string | undefined {
  try {
    return normalizeEmail(email).canonical;
  } catch {
    return undefined;
  }
}
