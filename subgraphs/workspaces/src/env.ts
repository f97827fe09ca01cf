// The workspaces subgraph's settings; the only reader of process.env in this service.
import { join } from 'node:path';
import { bool, logLevel, nodeEnv, parseEnv, port, postgresUrl, z } from '@citadel/kit/env';
import { databaseSettings } from '@citadel/kit/db';
import { telemetrySettings } from '@citadel/kit/telemetry';
import { DATA_DIR } from '@citadel/kit/paths';

export const env = parseEnv({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  ...telemetrySettings,
  WORKSPACES_HOST: z.string().default('127.0.0.1'),
  WORKSPACES_PORT: port(4004),
  DATABASE_URL: postgresUrl,
  ...databaseSettings,
  KEYS_DIR: z.string().default(join(DATA_DIR, 'keys')),
  WORKSPACES_PRIVATE_KEY: z.string().optional(),
  AUTHZ_URL: z.string().url().default('http://127.0.0.1:4002'),
  AUDIT_URL: z.string().url().default('http://127.0.0.1:4003'),
  IDENTITY_URL: z.string().url().default('http://127.0.0.1:4001'),
  IDEMPOTENCY_KEY_TTL_HOURS: z.coerce.number().positive().max(24 * 365).default(24),
  INTERNAL_JWKS_URL: z.string().url().default('http://127.0.0.1:4000/.well-known/jwks.json'),
  REDIS_URL: z.string().url().optional(),
  INTROSPECTION: bool(false),
});
