// A single-use token sent by mail: email verification (24 h) or password reset (1 h). Stored hashed.
import { EntitySchema } from '@mikro-orm/postgresql';
import type { User } from '../users/user.entity';

export type EmailTokenPurpose = 'VERIFY_EMAIL' | 'RESET_PASSWORD';

export class EmailToken {
  id!: string;
  user!: User;
  purpose!: EmailTokenPurpose;
  tokenHash!: string;
  createdAt: Date = new Date();
  expiresAt!: Date;
  usedAt: Date | null = null;
}

export const EmailTokenEntity = new EntitySchema<EmailToken>({
  class: EmailToken,
  tableName: 'email_tokens',
  properties: {
    id: { type: 'uuid', primary: true },
    user: { kind: 'm:1', entity: 'User', deleteRule: 'cascade' },
    purpose: { type: 'string', length: 32 },
    tokenHash: { type: 'string', length: 64, unique: 'email_tokens_token_hash_key' },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
    expiresAt: { type: 'Date' },
    usedAt: { type: 'Date', nullable: true },
  },
});
