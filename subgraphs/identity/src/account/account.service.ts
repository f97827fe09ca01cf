// Account recovery and upkeep: email verification, password reset, password change.
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CounterStore } from '@citadel/kit/counters';
import { AppError, COMMON_ERRORS } from '@citadel/kit/errors';
import type { Logger } from '@citadel/kit/logger';
import type { MailMessage, Mailer } from '@citadel/kit/mailer';
import type { Outbox } from '@citadel/kit/outbox';
import type { SessionService } from '../auth/session.service';
import { failClosed, IDENTITY_ERRORS, invalidCredentials, invalidResetToken, invalidVerificationToken } from '../identity.errors';
import type { PasswordHasher } from '../passwords/password-hasher';
import { assertAcceptablePassword } from '../passwords/password-policy';
import { hashRefreshToken as sha256 } from '../tokens/access-token';
import { normalizeEmail } from '../users/email';
import { User } from '../users/user.entity';
import { MfaChallenge } from '../mfa/mfa.entity';
import { EmailToken, type EmailTokenPurpose } from './email-token.entity';
import { newSignInMail, passwordResetMail, signUpAttemptMail, verificationMail } from './mail-templates';
import { Session } from '../auth/session.entity';

export interface AccountSettings {
  /** Where links in mail point: `<appUrl>/verify-email?token=…`, `<appUrl>/reset-password?token=…`. */
  appUrl: string;
  /** Per user per hour: verification resends; per address per hour: reset requests. */
  mailsPerHour: number;
  /** Wrong current passwords or reset tokens per user or IP per 15 minutes. */
  maxAttempts: number;
}

const HOUR = 3_600_000;
const TTL: Record<EmailTokenPurpose, number> = { VERIFY_EMAIL: 24 * HOUR, RESET_PASSWORD: HOUR };

export class AccountService {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly mailer: Mailer,
    private readonly counters: CounterStore,
    private readonly logger: Logger,
    private readonly settings: AccountSettings,
    private readonly outbox: Outbox,
  ) {}

  /** Runs `work` after the current answer is on its way; a failure is logged. */
  later(work: () => Promise<void>): void {
    setImmediate(() => void work().catch((error: unknown) => this.logger.error({ err: error }, 'background mail work failed')));
  }

  /** Sends a verification link; a mail failure is logged, never lost silently nor fatal to sign-up. */
  async sendVerification(em: EntityManager, user: User): Promise<void> {
    const token = await this.issue(em, user, 'VERIFY_EMAIL');
    await this.deliver(verificationMail(user.email, user.name, `${this.settings.appUrl}/verify-email?token=${token}`));
  }

  /**
   * Tells the owner about a sign-in from an address none of their sessions ever came from (the
   * first sign-in of an account is not news). Runs in the background: sign-in does not wait for mail.
   */
  notifyIfNewAddress(em: EntityManager, user: User, ip: string | null): void {
    if (!ip) return;
    const background = em.fork();
    void (async () => {
      const [fromHere, any] = await Promise.all([
        background.count(Session, { user: user.id, ip }),
        background.count(Session, { user: user.id }),
      ]);
      if (fromHere > 1 || any <= 1) return;
      await this.deliver(newSignInMail(user.email, user.name, ip));
    })().catch((error: unknown) => this.logger.error({ err: error }, 'new sign-in mail failed'));
  }

  /** Tells an account's owner that someone tried to sign up with their address (rate limited). */
  async notifySignUpAttempt(owner: User): Promise<void> {
    const { count } = await this.counters.increment(`mail:signup:${owner.id}`, HOUR);
    if (count > this.settings.mailsPerHour) return;
    await this.deliver(signUpAttemptMail(owner.email, owner.name, `${this.settings.appUrl}/reset-password`));
  }

  async verifyEmail(em: EntityManager, token: string): Promise<User> {
    const claimed = await this.claim(em, token, 'VERIFY_EMAIL');
    if (!claimed) throw invalidVerificationToken();
    if (!claimed.user.emailVerifiedAt) {
      claimed.user.emailVerifiedAt = new Date();
      this.emailVerified(em, claimed.user.id);
    }
    await em.flush();
    return claimed.user;
  }

  /** Returns false when the address is already verified (nothing sent). */
  async resendVerification(em: EntityManager, userId: string): Promise<boolean> {
    const user = await em.findOneOrFail(User, { id: userId });
    if (user.emailVerifiedAt) return false;
    await this.limit(`mail:verify:${userId}`, this.settings.mailsPerHour, HOUR);
    await this.sendVerification(em, user);
    return true;
  }

  /**
   * Answers the same for known and unknown addresses (and over the rate limit): the lookup is the
   * only work done before answering; the token and the mail are made afterwards, in the background,
   * and so is `identity.password.reset-requested`, written with the token (a known address only).
   */
  async requestPasswordReset(em: EntityManager, email: string): Promise<boolean> {
    let canonical: string;
    try {
      canonical = normalizeEmail(email).canonical;
    } catch {
      return true;
    }
    const user = await em.findOne(User, { emailCanonical: canonical });
    if (user) {
      const background = em.fork();
      // After the answer is on its way (macrotask), so the token, the insert and the mail do not
      // slow this response down compared with an unknown address's.
      setImmediate(() => {
        void (async () => {
          const { count } = await this.counters.increment(`mail:reset:${canonical}`, HOUR);
          const requested = { action: 'identity.password.reset-requested', target: { type: 'User', id: user.id } };
          if (count > this.settings.mailsPerHour) {
            this.outbox.add(background, { ...requested, outcome: 'failure', reason: COMMON_ERRORS.TOO_MANY_REQUESTS });
            await background.flush();
            return;
          }
          const target = await background.findOneOrFail(User, { id: user.id });
          this.outbox.add(background, requested); // written by issue's flush, with the token
          const token = await this.issue(background, target, 'RESET_PASSWORD');
          await this.deliver(passwordResetMail(target.email, target.name, `${this.settings.appUrl}/reset-password?token=${token}`));
        })().catch((error: unknown) => this.logger.error({ err: error }, 'password reset mail failed'));
      });
    }
    return true;
  }

  /** Sets a new password from a reset link, then ends every session of the account. */
  async resetPassword(em: EntityManager, token: string, newPassword: string, ip: string | null): Promise<void> {
    await this.limit(`reset:ip:${ip ?? 'unknown'}`, this.settings.maxAttempts * 10, 15 * 60_000);
    // One transaction: a refused new password rolls the claim back, so the link still works.
    const userId = await em.transactional(async (tx) => {
      const claimed = await this.claim(tx, token, 'RESET_PASSWORD');
      if (!claimed) throw invalidResetToken();
      const user = claimed.user;
      assertAcceptablePassword(newPassword, user.email);
      user.passwordHash = await this.hasher.hash(newPassword);
      this.outbox.add(tx, { action: 'identity.password.reset', target: { type: 'User', id: user.id } });
      if (!user.emailVerifiedAt) {
        user.emailVerifiedAt = new Date(); // receiving the mail proves the address too
        this.emailVerified(tx, user.id);
      }
      await tx.nativeUpdate(EmailToken, { user: user.id, purpose: 'RESET_PASSWORD', usedAt: null }, { usedAt: new Date() });
      return user.id;
    });
    await em.nativeUpdate(MfaChallenge, { user: userId, completedAt: null }, { expiresAt: new Date(0) });
    await this.sessions.end(em, userId, 'PASSWORD_RESET');
  }

  /**
   * Needs the current password (throttled like login); ends every other session. A wrong or
   * throttled current password is recorded as `identity.password.change-failed`.
   */
  async changePassword(em: EntityManager, userId: string, sessionId: string | null, current: string, next: string): Promise<void> {
    await this.limit(`password-change:${userId}`, this.settings.maxAttempts, 15 * 60_000).catch(async (error: unknown) => {
      if (error instanceof AppError) await this.changeFailed(em, userId, error.code);
      throw error;
    });
    const user = await em.findOneOrFail(User, { id: userId }, { populate: ['passwordHash'] });
    if (!(await this.hasher.verify(user.passwordHash, current))) {
      await this.changeFailed(em, userId, IDENTITY_ERRORS.INVALID_CREDENTIALS);
      throw invalidCredentials();
    }
    assertAcceptablePassword(next, user.email);
    user.passwordHash = await this.hasher.hash(next);
    this.outbox.add(em, { action: 'identity.password.changed', target: { type: 'User', id: userId } });
    await em.flush();
    await em.nativeUpdate(MfaChallenge, { user: userId, completedAt: null }, { expiresAt: new Date(0) });
    await this.sessions.end(em, userId, 'PASSWORD_CHANGED', { exceptId: sessionId ?? undefined });
  }

  private emailVerified(em: EntityManager, userId: string): void {
    this.outbox.add(em, { action: 'identity.email.verified', target: { type: 'User', id: userId }, changes: { before: { emailVerified: false }, after: { emailVerified: true } } });
  }

  /** Records a refused password change and writes it at once: the request fails right after. */
  private async changeFailed(em: EntityManager, userId: string, reason: string): Promise<void> {
    this.outbox.add(em, { action: 'identity.password.change-failed', target: { type: 'User', id: userId }, outcome: 'failure', reason });
    await em.flush();
  }

  private async issue(em: EntityManager, user: User, purpose: EmailTokenPurpose): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    em.create(EmailToken, {
      id: randomUUID(),
      user,
      purpose,
      tokenHash: sha256(token),
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + TTL[purpose]),
    });
    await em.flush();
    return token;
  }

  /** Marks the token used in one atomic UPDATE, so it works exactly once even under races. */
  private async claim(em: EntityManager, token: string, purpose: EmailTokenPurpose): Promise<EmailToken | null> {
    const tokenHash = sha256(token);
    const now = new Date();
    const claimed = await em.nativeUpdate(EmailToken, { tokenHash, purpose, usedAt: null, expiresAt: { $gt: now } }, { usedAt: now });
    if (claimed === 0) return null;
    return em.findOneOrFail(EmailToken, { tokenHash }, { populate: ['user'] });
  }

  private async limit(key: string, max: number, windowMs: number): Promise<void> {
    const { count, resetsInMs } = await this.counters.increment(key, windowMs).catch(failClosed());
    if (count > max) {
      throw new AppError(COMMON_ERRORS.TOO_MANY_REQUESTS, 'Too many attempts; try again later', {
        retryAfter: Math.ceil(resetsInMs / 1000),
      });
    }
  }

  private async deliver(message: MailMessage): Promise<void> {
    try {
      await this.mailer.send(message);
    } catch (error) {
      this.logger.error({ err: error, subject: message.subject }, 'mail could not be sent');
    }
  }
}
