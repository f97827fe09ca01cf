// TOTP second factor: set-up, recovery codes, and the login challenge that follows a password.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '@citadel/kit/logger';
import type { Mailer } from '@citadel/kit/mailer';
import { seal, unseal } from '@citadel/kit/sealed';
import { mfaEnabledMail } from '../account/mail-templates';
import { invalidMfaChallenge, invalidMfaCode, mfaAlreadyEnabled, mfaNotEnabled } from '../identity.errors';
import { User } from '../users/user.entity';
import { MfaChallenge, RecoveryCode, TotpFactor } from './mfa.entity';
import { base32Encode, matchingStep, newTotpSecret, otpauthUri } from './totp';

export interface MfaSettings {
  /** 32-byte AES key sealing TOTP secrets at rest. */
  encryptionKey: Buffer;
  /** Shown in authenticator apps. */
  issuer: string;
  challengeTtlSeconds: number;
  /** Codes tried per challenge before it is void. */
  maxAttempts: number;
}

export interface TotpSetup {
  secret: string;
  otpauthUri: string;
}

const RECOVERY_CODES = 10;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const normalizeRecovery = (code: string) => code.toLowerCase().replace(/[^a-z2-7]/g, '');

export class MfaService {
  constructor(
    private readonly settings: MfaSettings,
    private readonly mailer: Mailer,
    private readonly logger: Logger,
  ) {}

  async isEnabled(em: EntityManager, userId: string): Promise<boolean> {
    return (await em.count(TotpFactor, { user: userId, confirmedAt: { $ne: null } })) > 0;
  }

  /** Starts (or restarts) set-up; the secret is shown once, here, and stored sealed. */
  async enable(em: EntityManager, userId: string): Promise<TotpSetup> {
    const user = await em.findOneOrFail(User, { id: userId });
    const existing = await em.findOne(TotpFactor, { user: userId });
    if (existing?.confirmedAt) throw mfaAlreadyEnabled();
    const secret = newTotpSecret();
    const sealed = seal(this.settings.encryptionKey, secret, userId);
    if (existing) existing.secretSealed = sealed;
    else em.create(TotpFactor, { user, secretSealed: sealed, createdAt: new Date() });
    await em.flush();
    return { secret: base32Encode(secret), otpauthUri: otpauthUri(secret, user.email, this.settings.issuer) };
  }

  /** Turns TOTP on with a first valid code; returns recovery codes, shown this once. */
  async confirm(em: EntityManager, userId: string, code: string): Promise<string[]> {
    const factor = await em.findOne(TotpFactor, { user: userId }, { populate: ['user'] });
    if (!factor) throw mfaNotEnabled();
    if (factor.confirmedAt) throw mfaAlreadyEnabled();
    if (!(await this.acceptCode(em, factor, code))) throw invalidMfaCode();
    factor.confirmedAt = new Date();
    const codes = await this.replaceRecoveryCodes(em, factor.user);
    await em.flush();
    await this.mailer.send(mfaEnabledMail(factor.user.email, factor.user.name)).catch((error: unknown) => {
      this.logger.error({ err: error }, 'MFA-enabled mail could not be sent');
    });
    return codes;
  }

  async disable(em: EntityManager, userId: string, code: string): Promise<void> {
    const factor = await this.confirmedFactor(em, userId);
    if (!(await this.acceptCode(em, factor, code))) throw invalidMfaCode();
    await em.nativeDelete(RecoveryCode, { user: userId });
    await em.nativeDelete(TotpFactor, { user: userId });
  }

  async regenerateRecoveryCodes(em: EntityManager, userId: string, code: string): Promise<string[]> {
    const factor = await this.confirmedFactor(em, userId);
    if (!(await this.acceptCode(em, factor, code))) throw invalidMfaCode();
    const codes = await this.replaceRecoveryCodes(em, factor.user);
    await em.flush();
    return codes;
  }

  /** After a correct password: a short-lived challenge, the only thing the client gets. */
  async startChallenge(em: EntityManager, user: User): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    em.create(MfaChallenge, {
      id: randomUUID(),
      user,
      tokenHash: sha256(token),
      attempts: 0,
      expiresAt: new Date(Date.now() + this.settings.challengeTtlSeconds * 1000),
    });
    await em.flush();
    return token;
  }

  /**
   * Each try first takes one of the challenge's attempts in an atomic UPDATE, so parallel guesses
   * cannot exceed them; then the TOTP code (once per time step) or a recovery code (once) decides.
   */
  async completeChallenge(em: EntityManager, token: string, code: string | undefined, recoveryCode: string | undefined): Promise<User> {
    const tokenHash = sha256(token);
    const now = new Date();
    const rows = await em.getConnection().execute<{ id: string; user_id: string }[]>(
      `update "identity"."mfa_challenges" set "attempts" = "attempts" + 1
        where "token_hash" = ? and "completed_at" is null and "expires_at" > ? and "attempts" < ?
        returning "id", "user_id"`,
      [tokenHash, now, this.settings.maxAttempts],
    );
    const challenge = rows[0];
    if (!challenge) throw invalidMfaChallenge();
    const factor = await this.confirmedFactor(em, challenge.user_id);
    const ok = code
      ? await this.acceptCode(em, factor, code)
      : recoveryCode
        ? await this.useRecoveryCode(em, challenge.user_id, recoveryCode)
        : false;
    if (!ok) throw invalidMfaCode();
    const completed = await em.nativeUpdate(MfaChallenge, { id: challenge.id, completedAt: null }, { completedAt: now });
    if (completed === 0) throw invalidMfaChallenge();
    return factor.user;
  }

  private async confirmedFactor(em: EntityManager, userId: string): Promise<TotpFactor> {
    const factor = await em.findOne(TotpFactor, { user: userId, confirmedAt: { $ne: null } }, { populate: ['user'] });
    if (!factor) throw mfaNotEnabled();
    return factor;
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
      { user: userId, codeHash: sha256(normalizeRecovery(code)), usedAt: null },
      { usedAt: new Date() },
    );
    return used === 1;
  }

  private async replaceRecoveryCodes(em: EntityManager, user: User): Promise<string[]> {
    await em.nativeDelete(RecoveryCode, { user: user.id });
    const codes = Array.from({ length: RECOVERY_CODES }, () => {
      const raw = base32Encode(randomBytes(7)).slice(0, 10).toLowerCase();
      return `${raw.slice(0, 5)}-${raw.slice(5)}`;
    });
    for (const code of codes) em.create(RecoveryCode, { id: randomUUID(), user, codeHash: sha256(normalizeRecovery(code)) });
    return codes;
  }
}
