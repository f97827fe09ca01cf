// The authz subgraph's settings; the only reader of process.env in this service.
import { join } from 'node:path';
import { bool, list, logLevel, nodeEnv, parseEnv, port, postgresUrl, z } from '@citadel/kit/env';
import { databaseSettings } from '@citadel/kit/db';
import { telemetrySettings } from '@citadel/kit/telemetry';
import { DATA_DIR, SCHEMA_DIR } from '@citadel/kit/paths';

export const env = parseEnv({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  ...telemetrySettings,
  AUTHZ_HOST: z.string().default('127.0.0.1'),
  AUTHZ_PORT: port(4002),
  DATABASE_URL: postgresUrl,
  ...databaseSettings,
  KEYS_DIR: z.string().default(join(DATA_DIR, 'keys')),
  AUTHZ_PRIVATE_KEY: z.string().optional(),
  AUDIT_URL: z.string().url().default('http://127.0.0.1:4003'),
  INTERNAL_JWKS_URL: z.string().url().default('http://127.0.0.1:4000/.well-known/jwks.json'),
  /** `name=jwksUrl` pairs: the platform services allowed to call authz's internal endpoints. */
  SERVICE_JWKS_URLS: list('identity=http://127.0.0.1:4001/.well-known/jwks.json,audit=http://127.0.0.1:4003/.well-known/jwks.json,workspaces=http://127.0.0.1:4004/.well-known/jwks.json'),
  ACCESS_MAP_PATH: z.string().default(join(SCHEMA_DIR, 'access-map.json')),
  REDIS_URL: z.string().url().optional(),
  INTROSPECTION: bool(false),
});
