// The audit subgraph's settings; the only reader of process.env in this service.
import { join } from 'node:path';
import { bool, list, logLevel, nodeEnv, parseEnv, port, postgresUrl, z } from '@citadel/kit/env';
import { databaseSettings } from '@citadel/kit/db';
import { telemetrySettings } from '@citadel/kit/telemetry';
import { DATA_DIR } from '@citadel/kit/paths';

export const env = parseEnv({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  ...telemetrySettings,
  AUDIT_HOST: z.string().default('127.0.0.1'),
  AUDIT_PORT: port(4003),
  DATABASE_URL: postgresUrl,
  ...databaseSettings,
  KEYS_DIR: z.string().default(join(DATA_DIR, 'keys')),
  /** Ed25519 PKCS#8 PEM signing checkpoints (and audit's service tokens); generated in development. */
  AUDIT_PRIVATE_KEY: z.string().optional(),
  /** Public keys of retired audit keys (a JWKS as JSON), so older checkpoints still verify. */
  AUDIT_PREVIOUS_JWKS: z.string().optional(),
  AUTHZ_URL: z.string().url().default('http://127.0.0.1:4002'),
  INTERNAL_JWKS_URL: z.string().url().default('http://127.0.0.1:4000/.well-known/jwks.json'),
  /** `name=jwksUrl` pairs: the platform services allowed to deliver events. */
  SERVICE_JWKS_URLS: list('identity=http://127.0.0.1:4001/.well-known/jwks.json,authz=http://127.0.0.1:4002/.well-known/jwks.json,workspaces=http://127.0.0.1:4004/.well-known/jwks.json'),
  /** A checkpoint is signed once this many events followed the last one. */
  CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** ... and at least this often while new events arrive. */
  CHECKPOINT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Events older than this many days are exported and removed; 0 keeps everything. */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  AUDIT_EXPORT_DIR: z.string().default(join(DATA_DIR, 'audit-export')),
  REDIS_URL: z.string().url().optional(),
  INTROSPECTION: bool(false),
});

export type AuditEnv = typeof env;
