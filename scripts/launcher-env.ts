// Settings the launcher reads (the services read their own in their env.ts).
import { join } from 'node:path';
import { list, logLevel, nodeEnv, parseEnv, port, z } from '@citadel/kit/env';
import { DATA_DIR } from '@citadel/kit/paths';
import { FEATURE_SUBGRAPHS, featureSettings } from './subgraphs';

export const launcherEnv = parseEnv({
  NODE_ENV: nodeEnv,
  DATABASE_URL: z.string().optional(),
  REDIS_URL: z.string().url().optional(),
  DATA_DIR: z.string().default(DATA_DIR),
  MAILBOX_DIR: z.string().optional(),
  EMBEDDED_PG_PORT: port(54329),
  GATEWAY_HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: port(4000),
  IDENTITY_HOST: z.string().default('127.0.0.1'),
  IDENTITY_PORT: port(4001),
  AUTHZ_HOST: z.string().default('127.0.0.1'),
  AUTHZ_PORT: port(4002),
  AUDIT_HOST: z.string().default('127.0.0.1'),
  AUDIT_PORT: port(4003),
  /** The web app's development server (scripts/web-app.ts), proxying /graphql to the gateway. */
  WEB_HOST: z.string().default('127.0.0.1'),
  WEB_PORT: port(5173),
  WEB_APP: z
    .enum(['on', 'off', 'true', 'false'])
    .default('on')
    .transform((v) => v === 'on' || v === 'true'),
  LOG_LEVEL: logLevel,
  /** Comma-separated services to start (default: all); the rest are expected to run elsewhere. */
  LAUNCH_SERVICES: list(''),
  READY_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(90),
});

export const keysDir = (dataDir: string) => join(dataDir, 'keys');

/** Each feature subgraph's `<NAME>_HOST` (default 127.0.0.1) and `<NAME>_PORT` (its default port). */
const featureEnv = parseEnv(
  Object.fromEntries(
    FEATURE_SUBGRAPHS.flatMap((feature): [string, z.ZodType][] => {
      const settings = featureSettings(feature.name);
      return [
        [settings.host, z.string().default('127.0.0.1')],
        [settings.port, port(feature.port)],
      ];
    }),
  ),
);

/** The feature subgraphs (scripts/subgraphs.ts) as the launcher starts them, e.g. workspaces on WORKSPACES_HOST:WORKSPACES_PORT. */
export const featureServices = FEATURE_SUBGRAPHS.map((feature) => {
  const settings = featureSettings(feature.name);
  return { name: feature.name, dir: `subgraphs/${feature.name}`, host: String(featureEnv[settings.host]), port: Number(featureEnv[settings.port]), portSetting: settings.port };
});
