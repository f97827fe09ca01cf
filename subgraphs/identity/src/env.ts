// The identity subgraph's settings; the only reader of process.env in this service.
import { join } from 'node:path';
import { bool, list, logLevel, nodeEnv, parseEnv, port, postgresUrl, z } from '@citadel/kit/env';
import { databaseSettings } from '@citadel/kit/db';
import { telemetrySettings } from '@citadel/kit/telemetry';
import { DATA_DIR } from '@citadel/kit/paths';
import { availableParallelism } from 'node:os';

export const env = parseEnv({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  ...telemetrySettings,
  IDENTITY_HOST: z.string().default('127.0.0.1'),
  IDENTITY_PORT: port(4001),
  DATABASE_URL: postgresUrl,
  ...databaseSettings,
  KEYS_DIR: z.string().default(join(DATA_DIR, 'keys')),
  IDENTITY_PRIVATE_KEY: z.string().optional(),
  AUTHZ_URL: z.string().url().default('http://127.0.0.1:4002'),
  AUDIT_URL: z.string().url().default('http://127.0.0.1:4003'),
  INTERNAL_JWKS_URL: z.string().url().default('http://127.0.0.1:4000/.well-known/jwks.json'),
  // The platform services that may look accounts up by email (workspaces' addMember by email).
  SERVICE_JWKS_URLS: list('workspaces=http://127.0.0.1:4004/.well-known/jwks.json'),
  JWT_ISSUER: z.string().default('citadel-identity'),
  JWT_AUDIENCE: z.string().default('citadel'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  REFRESH_TOKEN_KEY: z.string().optional(),
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(Math.max(2, availableParallelism())),
  PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(100_000).default(200),
  REDIS_URL: z.string().url().optional(),
  APP_URL: z.string().url().default('http://127.0.0.1:4000'),
  SMTP_URL: z.string().url().optional(),
  MAIL_FROM: z.string().default('Citadel <no-reply@citadel.local>'),
  MAILBOX_DIR: z.string().default(join(DATA_DIR, 'mail')),
  MAILS_PER_HOUR: z.coerce.number().int().min(1).default(5),
  REGISTRATION_REVEALS_TAKEN_EMAIL: bool(false),
  MFA_ENCRYPTION_KEY: z.string().optional(),
  MFA_ISSUER: z.string().default('Citadel'),
  MFA_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  MFA_MAX_ATTEMPTS_PER_USER: z.coerce.number().int().min(1).default(10),
  MFA_REAUTH_SECONDS: z.coerce.number().int().min(60).default(600),
  COUNTER_KEY_PREFIX: z.string().default('citadel:counter:'),
  LOGIN_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(10),
  LOGIN_MAX_ATTEMPTS_PER_IP: z.coerce.number().int().min(1).default(100),
  LOGIN_LOCK_SECONDS: z.coerce.number().int().min(1).default(900),
  LOGIN_FAILURE_DELAY_MS: z.coerce.number().int().min(0).max(10_000).default(250),
  INTROSPECTION: bool(false),
});

export type IdentityEnv = typeof env;
