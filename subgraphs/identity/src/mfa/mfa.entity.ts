// TOTP factor, recovery codes and MFA login challenges. Secrets are sealed or hashed, never plain.
import { EntitySchema } from '@mikro-orm/postgresql';
import type { User } from '../users/user.entity';

export class TotpFactor {
  user!: User;
  /** AES-256-GCM of the secret, bound to the user id (see kit/sealed). */
  secretSealed!: string;
  confirmedAt: Date | null = null;
  /** The last accepted time step: a code is accepted once. */
  lastUsedStep: string | null = null;
  createdAt: Date = new Date();
}

export class RecoveryCode {
  id!: string;
  user!: User;
  codeHash!: string;
  usedAt: Date | null = null;
}

export class MfaChallenge {
  id!: string;
  user!: User;
  tokenHash!: string;
  attempts = 0;
  expiresAt!: Date;
  completedAt: Date | null = null;
}

export const TotpFactorEntity = new EntitySchema<TotpFactor>({
  class: TotpFactor,
  tableName: 'totp_factors',
  properties: {
    user: { kind: '1:1', entity: 'User', primary: true, owner: true, deleteRule: 'cascade' },
    secretSealed: { type: 'text' },
    confirmedAt: { type: 'Date', nullable: true },
    lastUsedStep: { type: 'bigint', nullable: true },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
  },
});

export const RecoveryCodeEntity = new EntitySchema<RecoveryCode>({
  class: RecoveryCode,
  tableName: 'recovery_codes',
  properties: {
    id: { type: 'uuid', primary: true },
    user: { kind: 'm:1', entity: 'User', deleteRule: 'cascade' },
    codeHash: { type: 'string', length: 64 },
    usedAt: { type: 'Date', nullable: true },
  },
});

export const MfaChallengeEntity = new EntitySchema<MfaChallenge>({
  class: MfaChallenge,
  tableName: 'mfa_challenges',
  properties: {
    id: { type: 'uuid', primary: true },
    user: { kind: 'm:1', entity: 'User', deleteRule: 'cascade' },
    tokenHash: { type: 'string', length: 64, unique: 'mfa_challenges_token_hash_key' },
    attempts: { type: 'integer', default: 0 },
    expiresAt: { type: 'Date' },
    completedAt: { type: 'Date', nullable: true },
  },
});
