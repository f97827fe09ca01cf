// Login, refresh-token rotation (families with a grace window) and logout.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ClientInfo } from '@citadel/kit/auth';
import { AppError, COMMON_ERRORS } from '@citadel/kit/errors';
import type { Outbox } from '@citadel/kit/outbox';
import { accountDisabled, IDENTITY_ERRORS, invalidCredentials, invalidRefreshToken } from '../identity.errors';
import type { PasswordHasher } from '../passwords/password-hasher';
import { MAX_PASSWORD_LENGTH } from '../passwords/password-policy';
import { hashRefreshToken, newRefreshToken, signAccessToken, type AccessTokenSettings } from '../tokens/access-token';
import { normalizeEmail } from '../users/email';
import { User } from '../users/user.entity';
import { RefreshToken, Session } from './session.entity';
import type { AccountService } from '../account/account.service';
import type { MfaService } from '../mfa/mfa.service';
import type { LoginThrottle } from './login-throttle';
import type { SessionService } from './session.service';

export interface AuthResult {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

/** A correct password for an account with a second factor: only a challenge, no tokens. */
export interface MfaRequired {
  mfaChallenge: string;
}

export interface AuthServiceSettings {
  accessToken: AccessTokenSettings;
  refreshTokenTtlDays: number;
  /** Derives a refresh token's successor, so a racing second use can be handed the same one. */
  refreshTokenKey: Buffer;
  /** How long after a rotation the old token still yields the same successor. */
  refreshGraceSeconds: number;
}

/** Who a failed sign-in is recorded as: nobody proved who they are. */
const ANONYMOUS_ACTOR = { type: 'anonymous', id: null, sessionId: null } as const;
/** Why a session was not started after the account was found: recorded as a failed login. */
const LOGIN_REFUSALS: ReadonlySet<string> = new Set([IDENTITY_ERRORS.INVALID_CREDENTIALS, IDENTITY_ERRORS.ACCOUNT_DISABLED]);
/** Why an attempt was refused before the password was checked (locked, or its counters unreachable). */
const UNCOUNTED_REFUSALS: ReadonlySet<string> = new Set([COMMON_ERRORS.TOO_MANY_REQUESTS, IDENTITY_ERRORS.SERVICE_UNAVAILABLE]);

export class AuthService {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly throttle: LoginThrottle,
    private readonly mfa: MfaService,
    private readonly account: AccountService,
    private readonly settings: AuthServiceSettings,
    private readonly outbox: Outbox,
  ) {}

  /**
   * Wrong password and unknown email take the same time, the same throttling and the same error.
   * The attempt is counted before the password is checked, so parallel guesses cannot pass the limit.
   * A disabled account says so only after its right password, and its attempt stays counted.
   * Every refusal is recorded (`identity.login.failed`) before it is answered, an unknown email's
   * too: one small insert on each path, so they still cost the same.
   */
  async login(em: EntityManager, email: string, password: string, client: ClientInfo): Promise<AuthResult | MfaRequired> {
    const canonical = tryCanonical(email);
    const attempt = await this.throttle.begin(canonical ?? email.trim().toLowerCase().slice(0, 320), client.ip).catch(async (error: unknown) => {
      if (error instanceof AppError && UNCOUNTED_REFUSALS.has(error.code)) {
        // The same lookup for a known and an unknown address: the lock reveals nothing either way.
        const known = canonical ? await em.findOne(User, { emailCanonical: canonical }, { fields: ['id'] }) : null;
        await this.loginFailed(em, known?.id ?? null, error.code);
      }
      throw error;
    });
    const user = canonical
      ? await em.findOne(User, { emailCanonical: canonical }, { populate: ['passwordHash'] })
      : null;
    const candidate = password.length <= MAX_PASSWORD_LENGTH * 4 ? password : '';
    const ok = await this.hasher.verify(user?.passwordHash, candidate);
    if (!user || !ok) {
      await this.loginFailed(em, user?.id ?? null, IDENTITY_ERRORS.INVALID_CREDENTIALS);
      await this.throttle.failed(attempt);
      throw invalidCredentials();
    }
    if (user.disabledAt) {
      await this.loginFailed(em, user.id, IDENTITY_ERRORS.ACCOUNT_DISABLED);
      throw accountDisabled();
    }
    if (this.hasher.needsRehash(user.passwordHash)) {
      user.passwordHash = await this.hasher.hash(password);
      await em.flush();
    }
    if (await this.mfa.isEnabled(em, user.id)) {
      // The password's attempt stays counted until the second factor is proven too, so cycling
      // login and completeMfaChallenge cannot buy unlimited code guesses.
      await em.flush();
      return { mfaChallenge: await this.mfa.startChallenge(em, user) };
    }
    await this.throttle.succeeded(attempt);
    return this.startSession(em, user, client, 'pwd', user.passwordHash);
  }

  /** The second step of an MFA login: a TOTP code or a recovery code for the challenge. */
  async completeMfaChallenge(
    em: EntityManager,
    challenge: string,
    proof: { code?: string | undefined; recoveryCode?: string | undefined },
    client: ClientInfo,
  ): Promise<AuthResult> {
    const user = await this.mfa.completeChallenge(em, challenge, proof.code, proof.recoveryCode);
    // Disabled between the password and the code: the challenge is spent, no session starts.
    if (user.disabledAt) {
      await this.loginFailed(em, user.id, IDENTITY_ERRORS.ACCOUNT_DISABLED);
      throw accountDisabled();
    }
    await this.throttle.clear(user.emailCanonical);
    // completeChallenge checks the TOTP code first when both are given.
    return this.startSession(em, user, client, 'pwd otp', undefined, { secondFactor: proof.code ? 'totp' : 'recovery' });
  }

  /**
   * Creates the session and its first refresh token. The account row is read `FOR SHARE` in the
   * same transaction: it must not be disabled, and with `verifiedHash` it must still hold the hash
   * the password was checked against. A password reset or change, or a disableUser, racing this
   * login either committed first (refused here) or waits for this commit and then ends the new
   * session with the others. `identity.login.succeeded` is written with the session; a refusal
   * here is recorded as `identity.login.failed`.
   */
  private async startSession(
    em: EntityManager,
    user: User,
    client: ClientInfo,
    amr: string,
    verifiedHash?: string,
    details: Record<string, unknown> = {},
  ): Promise<AuthResult> {
    const refreshToken = newRefreshToken();
    const session = await em.transactional(async (tx) => {
      // tx.execute, not tx.getConnection().execute: only the former runs inside the transaction,
      // so the row lock is held until the session is committed.
      const [row] = await tx.execute<{ password_hash: string; disabled_at: Date | null }[]>(
          'select "password_hash", "disabled_at" from "identity"."users" where "id" = ? for share',
          [user.id],
        );
      if (!row || (verifiedHash !== undefined && row.password_hash !== verifiedHash)) throw invalidCredentials();
      if (row.disabled_at !== null) throw accountDisabled();
      return this.createSession(tx, user, client, amr, refreshToken, details);
    }).catch(async (error: unknown) => {
      if (error instanceof AppError && LOGIN_REFUSALS.has(error.code)) await this.loginFailed(em, user.id, error.code);
      throw error;
    });
    this.account.notifyIfNewAddress(em, user, client.ip);
    return this.result(session, refreshToken);
  }

  private async createSession(
    em: EntityManager,
    user: User,
    client: ClientInfo,
    amr: string,
    refreshToken: string,
    details: Record<string, unknown>,
  ): Promise<Session> {
    const now = new Date();
    const session = em.create(Session, {
      id: randomUUID(),
      user,
      userAgent: client.userAgent,
      ip: client.ip,
      amr,
      createdAt: now,
      lastUsedAt: now,
    });
    this.storeRefreshToken(em, session, refreshToken, null);
    this.outbox.add(em, {
      action: 'identity.login.succeeded',
      actor: { type: 'user', id: user.id, sessionId: session.id },
      target: { type: 'Session', id: session.id },
      changes: { after: { amr, ...details } },
    });
    await em.flush();
    return session;
  }

  /** Records a refused sign-in and writes it at once: the request fails right after. */
  private async loginFailed(em: EntityManager, userId: string | null, reason: string): Promise<void> {
    this.outbox.add(em, {
      action: 'identity.login.failed',
      actor: ANONYMOUS_ACTOR,
      target: { type: 'User', id: userId },
      outcome: 'failure',
      reason,
    });
    await em.flush();
  }

  /**
   * Rotation inside one transaction: the presented token is claimed by an atomic UPDATE and its
   * successor stored before commit, so a racing request sees either nothing claimed or both.
   * A second use within the grace window (two tabs refreshing at once) gets the same successor;
   * any other reuse ends the session, the whole token family.
   */
  async refresh(em: EntityManager, token: string, client: ClientInfo): Promise<AuthResult> {
    const tokenHash = hashRefreshToken(token);
    let successor = '';
    const outcome = await em.transactional(async (tx) => {
      const now = new Date();
      const claimed = await tx.nativeUpdate(RefreshToken, { tokenHash, usedAt: null, expiresAt: { $gt: now } }, { usedAt: now });
      const stored = await tx.findOne(RefreshToken, { tokenHash }, { populate: ['session', 'session.user'] });
      // A disabled account's sessions were ended; the check covers a refresh racing that ending.
      if (!stored || stored.session.revokedAt || stored.session.user.disabledAt) return 'invalid' as const;
      successor = this.successorOf(token, stored.successorNonce);
      if (claimed === 1) {
        this.storeRefreshToken(tx, stored.session, successor, stored);
        stored.session.lastUsedAt = now;
        if (client.ip) stored.session.ip = client.ip;
        if (client.userAgent) stored.session.userAgent = client.userAgent;
        return stored.session;
      }
      if (stored.expiresAt <= now || !stored.usedAt) return 'invalid' as const;
      const child = await tx.findOne(RefreshToken, { tokenHash: hashRefreshToken(successor), usedAt: null });
      const withinGrace = now.getTime() - stored.usedAt.getTime() <= this.settings.refreshGraceSeconds * 1000;
      if (withinGrace && child) return stored.session;
      return { reused: stored.session };
    });
    if (outcome === 'invalid') throw invalidRefreshToken();
    if ('reused' in outcome) {
      // Outside the transaction, so the revocation (and its identity.refresh-token.reuse-detected)
      // commits although the request fails.
      await this.sessions.end(em, outcome.reused.user.id, 'REFRESH_TOKEN_REUSED', { sessionId: outcome.reused.id });
      throw invalidRefreshToken();
    }
    return this.result(outcome, successor);
  }

  /**
   * Ends the session the refresh token belongs to; its refresh tokens stop working at once. A used
   * (rotated) token of a live session also ends it: whoever holds it, the session is over.
   * An unknown or expired token, or one of a session already ended, is INVALID_REFRESH_TOKEN.
   */
  async logout(em: EntityManager, token: string): Promise<boolean> {
    const known = await em.findOne(RefreshToken, { tokenHash: hashRefreshToken(token) }, { populate: ['session'] });
    if (!known || known.expiresAt <= new Date() || known.session.revokedAt) throw invalidRefreshToken();
    const userId = known.session.user.id;
    // The refresh token proves whose session it is, whatever access token came with the call.
    await this.sessions.end(em, userId, 'LOGOUT', { sessionId: known.session.id, actor: { type: 'user', id: userId, sessionId: known.session.id } });
    return true;
  }

  private storeRefreshToken(em: EntityManager, session: Session, token: string, parent: RefreshToken | null): void {
    em.create(RefreshToken, {
      id: randomUUID(),
      session,
      parent,
      tokenHash: hashRefreshToken(token),
      successorNonce: randomBytes(16).toString('base64url'),
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + this.settings.refreshTokenTtlDays * 86_400_000),
    });
  }

  /**
   * HMAC of the token and its row's random nonce under a server key: the same every time for the
   * grace window, unpredictable without both the key and the database row.
   */
  private successorOf(token: string, nonce: string): string {
    return createHmac('sha256', this.settings.refreshTokenKey).update(`refresh-successor\0${nonce}\0${token}`).digest('base64url');
  }

  private async result(session: Session, refreshToken: string): Promise<AuthResult> {
    const accessToken = await signAccessToken(this.settings.accessToken, session.user.id, session.id, {
      emailVerified: session.user.emailVerifiedAt !== null,
      amr: session.amr.split(' '),
    });
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
