// A login session (`sid` in access tokens) and the rotating refresh tokens that keep it alive.
import { EntitySchema } from '@mikro-orm/postgresql';
import type { User } from '../users/user.entity';

export class Session {
  id!: string;
  user!: User;
  userAgent: string | null = null;
  ip: string | null = null;
  /** Authentication methods used to start it, space separated: `pwd` or `pwd otp`. */
  amr = 'pwd';
  createdAt: Date = new Date();
  lastUsedAt: Date = new Date();
  revokedAt: Date | null = null;
  revokedReason: string | null = null;
}

export class RefreshToken {
  id!: string;
  session!: Session;
  /** SHA-256 of the token, hex. The token itself is never stored. */
  tokenHash!: string;
  /** Random, mixed into the successor's derivation (never leaves the database). */
  successorNonce = '';
  /** The token this one replaced; its successor is found by `parent`. */
  parent: RefreshToken | null = null;
  createdAt: Date = new Date();
  expiresAt!: Date;
  usedAt: Date | null = null;
}

export const SessionEntity = new EntitySchema<Session>({
  class: Session,
  tableName: 'sessions',
  properties: {
    id: { type: 'uuid', primary: true },
    user: { kind: 'm:1', entity: 'User', deleteRule: 'cascade' },
    userAgent: { type: 'string', length: 512, nullable: true },
    amr: { type: 'string', length: 32, default: 'pwd' },
    ip: { type: 'string', length: 64, nullable: true },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
    lastUsedAt: { type: 'Date', defaultRaw: 'now()' },
    revokedAt: { type: 'Date', nullable: true },
    revokedReason: { type: 'string', length: 64, nullable: true },
  },
});

export const RefreshTokenEntity = new EntitySchema<RefreshToken>({
  class: RefreshToken,
  tableName: 'refresh_tokens',
  properties: {
    id: { type: 'uuid', primary: true },
    session: { kind: 'm:1', entity: 'Session', deleteRule: 'cascade' },
    tokenHash: { type: 'string', length: 64, unique: 'refresh_tokens_token_hash_key' },
    successorNonce: { type: 'string', length: 32, default: '' },
    parent: { kind: 'm:1', entity: 'RefreshToken', nullable: true, deleteRule: 'set null' },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
    expiresAt: { type: 'Date' },
    usedAt: { type: 'Date', nullable: true },
  },
});
