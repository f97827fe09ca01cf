// The gateway's settings; the only reader of process.env in this service.
import { join } from 'node:path';
import { bool, list, logLevel, nodeEnv, parseEnv, port, z } from '@citadel/kit/env';
import { telemetrySettings } from '@citadel/kit/telemetry';
import { DATA_DIR, SCHEMA_DIR } from '@citadel/kit/paths';
import { parseOperationQuotas } from './rate-limit';

const subgraphTimeout = z.coerce.number().int().min(1).max(3_600_000);

const parsed = parseEnv({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  ...telemetrySettings,
  GATEWAY_HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: port(4000),
  SUPERGRAPH_PATH: z.string().default(join(SCHEMA_DIR, 'supergraph.graphql')),
  KEYS_DIR: z.string().default(join(DATA_DIR, 'keys')),
  GATEWAY_PRIVATE_KEY: z.string().optional(),
  IDENTITY_JWKS_URL: z.string().url().default('http://127.0.0.1:4001/.well-known/jwks.json'),
  IDENTITY_URL: z.string().url().default('http://127.0.0.1:4001'),
  AUTHZ_URL: z.string().url().default('http://127.0.0.1:4002'),
  AUDIT_URL: z.string().url().default('http://127.0.0.1:4003'),
  PERMISSIONS_POLL_MS: z.coerce.number().int().min(100).max(3_600_000).default(500),
  AUTHORIZATION_MODE: z.enum(['filter', 'reject', 'off']).default('filter'),
  REDIS_URL: z.string().url().optional(),
  REVOCATION_POLL_MS: z.coerce.number().int().min(100).max(3_600_000).default(2_000),
  ACCESS_TOKEN_MAX_AGE_SECONDS: z.coerce.number().int().min(5).max(86_400).default(3_600),
  JWT_ISSUER: z.string().default('citadel-identity'),
  JWT_AUDIENCE: z.string().default('citadel'),
  CORS_ORIGINS: list(''),
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  /** After SIGTERM: how long to keep serving with readiness false, for load balancers to notice (ms). */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  /** After that: how long in-flight requests may take to finish before their connections are closed (ms). */
  SHUTDOWN_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_000_000),
  MAX_DEPTH: z.coerce.number().int().min(1).default(15),
  MAX_ALIASES: z.coerce.number().int().min(0).default(30),
  MAX_ROOT_FIELDS: z.coerce.number().int().min(1).default(20),
  /** Token-bucket rate limits per client and operation name (gateway/src/rate-limit.ts). */
  RATE_LIMIT: bool(true),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(30_000),
  RATE_LIMIT_OPERATIONS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const parsed = parseOperationQuotas(text);
      if ('quotas' in parsed) return parsed.quotas;
      for (const message of parsed.problems) ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }),
  /** Namespace of the rate-limit buckets in Redis (shared with identity's login counters). */
  COUNTER_KEY_PREFIX: z.string().default('citadel:counter:'),
  SUBSCRIPTION_QUEUE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  SUBSCRIPTION_SHARED_FETCHES: list('identity'),
  /** Per client (the user, else the address) and per gateway node (gateway/src/ws-limits.ts). */
  WS_MAX_CONNECTIONS_PER_CLIENT: z.coerce.number().int().min(1).default(100),
  WS_MAX_SUBSCRIPTIONS_PER_CLIENT: z.coerce.number().int().min(1).default(500),
  /** Identical subgraph queries in flight at once share one fetch (gateway/src/inflight-fetches.ts). */
  SUBGRAPH_DEDUPLICATION: bool(true),
  /** The longest one subgraph fetch may take, retry included (gateway/src/subgraph-source.ts); as Apollo Router's default. */
  SUBGRAPH_TIMEOUT_MS: subgraphTimeout.default(30_000),
  INTROSPECTION: bool(false),
  EXPLORER: bool(true),
  PERSISTED_DOCUMENTS: z.enum(['off', 'allow', 'only']).default('off'),
  /** Comma-separated manifest files; empty means every clients/<name>/src/gql/persisted-documents.json. */
  PERSISTED_DOCUMENTS_PATH: list(''),
});

/** `SUBGRAPH_<NAME>_URL` overrides the routing URL the supergraph gives subgraph <name>. */
const subgraphUrls: Record<string, string> = {};
for (const [name, value] of Object.entries(process.env)) {
  const match = /^SUBGRAPH_([A-Z0-9_]+)_URL$/.exec(name);
  if (match?.[1] && value) subgraphUrls[match[1].toLowerCase()] = value;
}

/** `SUBGRAPH_<NAME>_TIMEOUT_MS` overrides SUBGRAPH_TIMEOUT_MS for subgraph <name>. */
const timeoutSettings: Record<string, typeof subgraphTimeout> = {};
for (const name of Object.keys(process.env)) if (/^SUBGRAPH_[A-Z0-9_]+_TIMEOUT_MS$/.test(name)) timeoutSettings[name] = subgraphTimeout;
const subgraphTimeouts: Record<string, number> = {};
for (const [name, ms] of Object.entries(parseEnv(timeoutSettings))) subgraphTimeouts[name.slice('SUBGRAPH_'.length, -'_TIMEOUT_MS'.length).toLowerCase()] = ms;

// @apollo/gateway reports anonymous usage data to Apollo from its constructor unless this says no.
// A self-hosted platform sends nothing out unasked: off unless the operator sets it to false.
process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';

export const env = {
  ...parsed,
  subgraphUrls,
  subgraphTimeouts,
  /** Subgraph <name>'s fetch timeout in ms. */
  subgraphTimeoutMs: (name: string): number => subgraphTimeouts[name] ?? parsed.SUBGRAPH_TIMEOUT_MS,
  /** Introspection is on in development and off in production unless INTROSPECTION=true. */
  introspection: parsed.NODE_ENV !== 'production' || parsed.INTROSPECTION,
};

export type GatewayEnv = typeof env;
