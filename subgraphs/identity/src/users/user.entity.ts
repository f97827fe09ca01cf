// An account. The password hash lives here and never in a GraphQL type.
import { EntitySchema } from '@mikro-orm/postgresql';

export class User {
  id!: string;
  /** As the user wrote it: trimmed, NFC, domain lower-cased. */
  email!: string;
  /** Fully lower-cased `email`: the unique, case-insensitive key. */
  emailCanonical!: string;
  name!: string;
  passwordHash!: string;
  emailVerifiedAt: Date | null = null;
  /** Set by an administrator: no sign-in, no refresh, every session ended. */
  disabledAt: Date | null = null;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
}

export const UserEntity = new EntitySchema<User>({
  class: User,
  tableName: 'users',
  properties: {
    id: { type: 'uuid', primary: true },
    email: { type: 'string', length: 320 },
    emailCanonical: { type: 'string', length: 320, unique: 'users_email_canonical_key' },
    name: { type: 'string', length: 200 },
    passwordHash: { type: 'string', length: 255, lazy: true },
    emailVerifiedAt: { type: 'Date', nullable: true },
    disabledAt: { type: 'Date', nullable: true },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
    updatedAt: { type: 'Date', defaultRaw: 'now()', onUpdate: () => new Date() },
  },
});
