// TOTP second factor: set-up, recovery codes, and the login challenge that follows a password.
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { CountersUnavailable, type CounterStore } from '@citadel/kit/counters';
import { AppError, COMMON_ERRORS } from '@citadel/kit/errors';
import type { Logger } from '@citadel/kit/logger';
import type { MailMessage, Mailer } from '@citadel/kit/mailer';
import type { Outbox } from '@citadel/kit/outbox';
import { seal, unseal } from '@citadel/kit/sealed';
import { mfaChangedMail } from '../account/mail-templates';
import { Session } from '../auth/session.entity';
import type { SessionService } from '../auth/session.service';
import { failClosed, IDENTITY_ERRORS, invalidMfaChallenge, invalidMfaCode, mfaAlreadyEnabled, mfaNotEnabled, reauthenticationRequired } from '../identity.errors';
import { User } from '../users/user.entity';
import { MfaChallenge, RecoveryCode, TotpFactor } from './mfa.entity';
import { base32Encode, matchingStep, newTotpSecret, otpauthUri } from './totp';

export interface MfaSettings {
  /** 32-byte AES key sealing TOTP secrets at rest; also keys the recovery-code HMAC. */
  encryptionKey: Buffer;
  /** Shown in authenticator apps. */
  issuer: string;
  challengeTtlSeconds: number;
  /** Codes tried per challenge before it is void. */
  maxAttempts: number;
  /** Code attempts per user across all challenges and settings changes in `windowSeconds`. */
  maxAttemptsPerUser: number;
  windowSeconds: number;
  /** Changing TOTP settings needs a session signed in at most this long ago. */
  reauthSeconds: number;
}

export interface TotpSetup {
  secret: string;
  otpauthUri: string;
}

const RECOVERY_CODES = 10;
/** Who a sign-in challenge is recorded as: the second factor is not proven yet. */
const ANONYMOUS_ACTOR = { type: 'anonymous', id: null, sessionId: null } as const;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const normalizeRecovery = (code: string) => code.toLowerCase().replace(/[^a-z2-7]/g, '');

export class MfaService {
  constructor(
    private readonly settings: MfaSettings,
    private readonly sessions: SessionService,
    private readonly counters: CounterStore,
    private readonly mailer: Mailer,
    private readonly logger: Logger,
    private readonly outbox: Outbox,
  ) {}

  async isEnabled(em: EntityManager, userId: string): Promise<boolean> {
    return (await em.count(TotpFactor, { user: userId, confirmedAt: { $ne: null } })) > 0;
  }

  /** Starts (or restarts) set-up; the secret is shown once, here, and stored sealed. */
  async enable(em: EntityManager, caller: SignedIn): Promise<TotpSetup> {
    await this.requireRecentSignIn(em, caller);
    const user = await em.findOneOrFail(User, { id: caller.userId });
    const existing = await em.findOne(TotpFactor, { user: caller.userId });
    if (existing?.confirmedAt) throw mfaAlreadyEnabled();
    const secret = newTotpSecret();
    const sealed = seal(this.settings.encryptionKey, secret, caller.userId);
    if (existing) existing.secretSealed = sealed;
    else em.create(TotpFactor, { user, secretSealed: sealed, createdAt: new Date() });
    await em.flush();
    return { secret: base32Encode(secret), otpauthUri: otpauthUri(secret, user.email, this.settings.issuer) };
  }

  /**
   * Turns TOTP on with a first valid code and returns recovery codes, shown this once. Every other
   * session ends: sessions signed in with the password alone must not outlive the new factor.
   */
  async confirm(em: EntityManager, caller: SignedIn, code: string): Promise<string[]> {
    await this.requireRecentSignIn(em, caller);
    const user = await this.withCodeAttempt(caller.userId, () =>
      em.transactional(async (tx) => {
        const factor = await this.lockedFactor(tx, caller.userId);
        if (!factor) throw mfaNotEnabled();
        if (factor.confirmedAt) throw mfaAlreadyEnabled();
        if (!(await this.acceptCode(tx, factor, code))) return null;
        factor.confirmedAt = new Date();
        this.outbox.add(tx, { action: 'identity.mfa.enabled', target: { type: 'User', id: caller.userId }, changes: { after: { method: 'totp' } } });
        return factor.user;
      }),
    );
    const codes = await this.replaceRecoveryCodes(em, user, false);
    await this.sessions.end(em, user.id, 'MFA_ENABLED', { exceptId: caller.sessionId ?? undefined });
    await this.notify(mfaChangedMail(user.email, user.name, 'Two-factor authentication was turned on for your account.'));
    return codes;
  }

  async disable(em: EntityManager, caller: SignedIn, code: string): Promise<void> {
    await this.requireRecentSignIn(em, caller);
    const user = await this.withCodeAttempt(caller.userId, () =>
      em.transactional(async (tx) => {
        const factor = await this.lockedFactor(tx, caller.userId);
        if (!factor?.confirmedAt) throw mfaNotEnabled();
        if (!(await this.acceptCode(tx, factor, code))) return null;
        await tx.nativeDelete(RecoveryCode, { user: caller.userId });
        await tx.nativeDelete(TotpFactor, { user: caller.userId });
        this.outbox.add(tx, { action: 'identity.mfa.disabled', target: { type: 'User', id: caller.userId }, changes: { before: { method: 'totp' } } });
        return factor.user;
      }),
    );
    await this.notify(mfaChangedMail(user.email, user.name, 'Two-factor authentication was turned off for your account.'));
  }

  async regenerateRecoveryCodes(em: EntityManager, caller: SignedIn, code: string): Promise<string[]> {
    await this.requireRecentSignIn(em, caller);
    const user = await this.withCodeAttempt(caller.userId, () =>
      em.transactional(async (tx) => {
        const factor = await this.lockedFactor(tx, caller.userId);
        if (!factor?.confirmedAt) throw mfaNotEnabled();
        return (await this.acceptCode(tx, factor, code)) ? factor.user : null;
      }),
    );
    const codes = await this.replaceRecoveryCodes(em, user, true);
    await this.notify(mfaChangedMail(user.email, user.name, 'New recovery codes were made for your account; the old ones no longer work.'));
    return codes;
  }

  /** After a correct password: a short-lived challenge, the only thing the client gets. */
  async startChallenge(em: EntityManager, user: User): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const challenge = em.create(MfaChallenge, {
      id: randomUUID(),
      user,
      tokenHash: sha256(token),
      attempts: 0,
      expiresAt: new Date(Date.now() + this.settings.challengeTtlSeconds * 1000),
    });
    this.outbox.add(em, {
      action: 'identity.mfa-challenge.started',
      actor: ANONYMOUS_ACTOR,
      target: { type: 'User', id: user.id },
      changes: { after: { challengeId: challenge.id } },
    });
    await em.flush();
    return token;
  }

  /**
   * Each try first takes one of the challenge's attempts and one of the user's attempts, both
   * atomically, so parallel guesses cannot exceed either, however many challenges are opened.
   * Then, in one transaction, the TOTP code (once per step) or a recovery code (once) decides and
   * the challenge completes. Every refusal is recorded (`identity.mfa-challenge.failed`); the
   * success is the caller's `identity.login.succeeded`.
   */
  async completeChallenge(em: EntityManager, token: string, code: string | undefined, recoveryCode: string | undefined): Promise<User> {
    const now = new Date();
    const rows = await em.getConnection().execute<{ id: string; user_id: string }[]>(
      `update "identity"."mfa_challenges" set "attempts" = "attempts" + 1
        where "token_hash" = ? and "completed_at" is null and "expires_at" > ? and "attempts" < ?
        returning "id", "user_id"`,
      [sha256(token), now, this.settings.maxAttempts],
    );
    const challenge = rows[0];
    if (!challenge) {
      await this.challengeFailed(em, null, null, IDENTITY_ERRORS.INVALID_MFA_CHALLENGE);
      throw invalidMfaChallenge();
    }
    return this.withCodeAttempt(challenge.user_id, () =>
      em.transactional(async (tx) => {
        const factor = await this.lockedFactor(tx, challenge.user_id);
        if (!factor?.confirmedAt) throw mfaNotEnabled();
        const ok = code
          ? await this.acceptCode(tx, factor, code)
          : recoveryCode
            ? await this.useRecoveryCode(tx, challenge.user_id, recoveryCode)
            : false;
        if (!ok) return null;
        const completed = await tx.nativeUpdate(MfaChallenge, { id: challenge.id, completedAt: null }, { completedAt: now });
        if (completed === 0) throw invalidMfaChallenge();
        return factor.user;
      }),
    ).catch(async (error: unknown) => {
      if (error instanceof AppError) await this.challengeFailed(em, challenge.user_id, challenge.id, error.code);
      throw error;
    });
  }

  /** Records a refused challenge and writes it at once: the request fails right after. */
  private async challengeFailed(em: EntityManager, userId: string | null, challengeId: string | null, reason: string): Promise<void> {
    this.outbox.add(em, {
      action: 'identity.mfa-challenge.failed',
      actor: ANONYMOUS_ACTOR,
      target: { type: 'User', id: userId },
      outcome: 'failure',
      reason,
      changes: challengeId ? { after: { challengeId } } : null,
    });
    await em.flush();
  }

  /**
   * Counts one code attempt for the user (TOO_MANY_REQUESTS past the limit), runs `check`, and
   * clears the count on success; `check` returning null means a wrong code.
   */
  private async withCodeAttempt(userId: string, check: () => Promise<User | null>): Promise<User> {
    const key = `mfa:user:${userId}`;
    const { count, resetsInMs } = await this.counters.increment(key, this.settings.windowSeconds * 1000).catch(failClosed());
    if (count > this.settings.maxAttemptsPerUser) {
      throw new AppError(COMMON_ERRORS.TOO_MANY_REQUESTS, 'Too many code attempts; try again later', {
        retryAfter: Math.ceil(resetsInMs / 1000),
      });
    }
    const user = await check();
    if (!user) throw invalidMfaCode();
    // Not cleared (counters unreachable) only locks sooner: the right code still signs in.
    await this.counters.reset(key).catch((error: unknown) => {
      if (!(error instanceof CountersUnavailable)) throw error;
    });
    return user;
  }

  /** Changing a factor proves more than holding a token: the session must be freshly signed in. */
  private async requireRecentSignIn(em: EntityManager, caller: SignedIn): Promise<void> {
    const session = caller.sessionId ? await em.findOne(Session, { id: caller.sessionId, revokedAt: null }) : null;
    if (!session || Date.now() - session.createdAt.getTime() > this.settings.reauthSeconds * 1000) throw reauthenticationRequired();
  }

  private lockedFactor(tx: EntityManager, userId: string): Promise<TotpFactor | null> {
    return tx.findOne(TotpFactor, { user: userId }, { populate: ['user'], lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  /** A code within one step of now, at a step later than the last accepted one (no replay). */
  private async acceptCode(em: EntityManager, factor: TotpFactor, code: string): Promise<boolean> {
    const secret = unseal(this.settings.encryptionKey, factor.secretSealed, factor.user.id);
    const step = matchingStep(secret, code.trim(), Date.now());
    if (step === null) return false;
    const claimed = await em.nativeUpdate(
      TotpFactor,
      { user: factor.user.id, $or: [{ lastUsedStep: null }, { lastUsedStep: { $lt: String(step) } }] },
      { lastUsedStep: String(step) },
    );
    return claimed === 1;
  }

  private async useRecoveryCode(em: EntityManager, userId: string, code: string): Promise<boolean> {
    const used = await em.nativeUpdate(
      RecoveryCode,
      { user: userId, codeHash: this.recoveryHash(userId, code), usedAt: null },
      { usedAt: new Date() },
    );
    return used === 1;
  }

  /** Keyed and bound to the user: a database dump alone cannot be searched for the codes. */
  private recoveryHash(userId: string, code: string): string {
    return createHmac('sha256', this.settings.encryptionKey).update(`recovery\0${userId}\0${normalizeRecovery(code)}`).digest('hex');
  }

  /**
   * Replaces every recovery code of the user in one transaction; `regenerated` records it (on
   * confirmation, identity.mfa.enabled already says so).
   */
  private async replaceRecoveryCodes(em: EntityManager, user: User, regenerated: boolean): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODES }, () => {
      const raw = base32Encode(randomBytes(10)).slice(0, 16).toLowerCase();
      return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8, 12)}-${raw.slice(12)}`;
    });
    await em.transactional(async (tx) => {
      await tx.nativeDelete(RecoveryCode, { user: user.id });
      for (const code of codes) tx.create(RecoveryCode, { id: randomUUID(), user: user.id, codeHash: this.recoveryHash(user.id, code) });
      if (regenerated) {
        this.outbox.add(tx, { action: 'identity.mfa.recovery-codes-regenerated', target: { type: 'User', id: user.id }, changes: { after: { count: codes.length } } });
      }
    });
    return codes;
  }

  private async notify(message: MailMessage): Promise<void> {
    await this.mailer.send(message).catch((error: unknown) => this.logger.error({ err: error, subject: message.subject }, 'mail could not be sent'));
  }
}

export interface SignedIn {
  userId: string;
  sessionId: string | null;
}
