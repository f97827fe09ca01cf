// Hostile input: generated documents, variables, bodies, headers, JWTs and graphql-ws messages sent
// to the running gateway. Threat: a client that crashes the gateway, gets a 500, reads our internals
// (stacks, SQL, subgraph addresses) from an error, or grows the gateway's memory without bound.
// Reduced in `npm test` (fixed seed); FUZZ_RUNS=<n> runs n cases per property, FUZZ_SEED=<n> replays a seed.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateSigningKey, signingKeyFromPem, type SigningKey } from '@citadel/kit/keys';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { findProcess, memoryMib } from '../bench/load';
import { launch, type Platform } from './launcher';

const FULL_RUNS = Number(process.env.FUZZ_RUNS ?? 0);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);
/** Cases per property in `npm test`: enough to meet every generator branch, small enough for ~90 s. */
const runs = (reduced: number) => (FULL_RUNS > 0 ? FULL_RUNS : reduced);
// Reduced: room for the slowest property (variables, about 80 s on 2 busy cores, nearly all of it
// in this process rather than the gateway, whose answers take about 4 s in all).
const TIMEOUT = FULL_RUNS > 0 ? 3_600_000 : 180_000;
/**
 * The gateway's resident memory may grow this much over the run. What it keeps on purpose is
 * bounded: Apollo's parsed-document LRU and the query-plan cache (about 30 MiB each by default),
 * the verified-token cache (10 000 entries), and V8 keeping the heap pages it grew into for the
 * largest single requests (a 1 MB document parses to tens of MB; peaks of 620 to 740 MiB), returned
 * to the OS only as its collector gets round to it. Measured: +129 to +363 MiB after 900 cases
 * (run to run, as collections fall), +149 MiB after 7 000: growth follows the largest requests,
 * not their number. A leak of 80 KiB per request over 7 000 cases would pass this bound.
 */
const RSS_GROWTH_BOUND_MIB = 512;

let platform: Platform;
let gql: string;
let gatewayPid: number;
let rssBeforeMib = 0;
let adminToken: string;
let userToken: string;
let identityKey: SigningKey;
/** Subgraph addresses a client must never see. */
let internalAddresses: string[] = [];
const cases: Record<string, number> = {};
const codes = new Map<string, number>();
const count = (property: string) => (cases[property] = (cases[property] ?? 0) + 1);

/** Where the platform's output stood when fuzzing began: start-up noise before it is not ours to judge. */
let outputAtStart = 0;

beforeAll(async () => {
  // Rate limiting would answer most cases 429 before they reach what is being fuzzed.
  platform = await launch({ env: { RATE_LIMIT: 'false' } });
  gql = `${platform.gatewayUrl}/graphql`;
  gatewayPid = findProcess(platform.process.pid!, 'gateway/src/main.ts');
  const urls = [platform.identityUrl, platform.authzUrl, platform.auditUrl, ...Object.values(platform.featureUrls)];
  internalAddresses = urls.flatMap((url) => {
    const port = new URL(url).port;
    return [`127.0.0.1:${port}`, `localhost:${port}`];
  });
  identityKey = await signingKeyFromPem(readFileSync(join(platform.dataDir, 'keys', 'identity.ed25519.pem'), 'utf8'));
  const credentials = readFileSync(join(platform.dataDir, 'admin-credentials.txt'), 'utf8');
  adminToken = await login(/email: (\S+)/.exec(credentials)![1]!, /password: (\S+)/.exec(credentials)![1]!);
  const email = 'fuzz.user@example.com';
  await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', {
    variables: { i: { email, password: 'a perfectly long passphrase', name: 'Fuzz' } },
  });
  userToken = await login(email, 'a perfectly long passphrase');
  // Warm up the paths the fuzzer takes, so the baseline already holds what any first request loads.
  for (let i = 0; i < 30; i++) {
    await graphqlRequest(gql, '{ me { id } __typename }', { token: userToken });
    await graphqlRequest(gql, '{ __schema { types { name } } }');
  }
  rssBeforeMib = memoryMib(gatewayPid, 'VmRSS');
  outputAtStart = platform.output().length;
}, 240_000);

afterAll(async () => {
  const total = Object.values(cases).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `fuzz: seed ${SEED}, ${total} fuzz cases run with zero 500s (${Object.entries(cases)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}); codes seen: ${[...codes].map(([k, v]) => `${k} ${v}`).join(', ')}\n`,
  );
  await platform?.stop();
});

async function login(email: string, password: string): Promise<string> {
  const res = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
    variables: { i: { email, password } },
  });
  if (!res.body.data) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.login.accessToken;
}

interface Sent {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: Uint8Array | string;
}

interface Received {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One raw HTTP request (any method, header and body bytes), on a fresh connection. */
function send(sent: Sent): Promise<Received> {
  const url = new URL(gql);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: sent.method ?? 'POST',
        path: sent.path ?? '/graphql',
        headers: sent.headers ?? {},
        agent: false,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(sent.body);
  });
}

const json = (value: unknown): Sent => ({ headers: { 'content-type': 'application/json' }, body: serialize(value) });

/**
 * A value nested `n` levels deep, written into the body as text: JSON.stringify (and fast-check's
 * printing of a counterexample) would overflow this process's stack on it before the gateway saw it.
 */
class Deep {
  constructor(readonly n: number) {}
  toJSON(): string {
    return `\u0001deep:${this.n}\u0001`;
  }
  [fc.toStringMethod](): string {
    return `deep(${this.n})`;
  }
}

function serialize(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001deep:(\d+)\\u0001"/g, (_, n: string) => {
    const half = Math.ceil(Number(n) / 2);
    return `${'{"a":['.repeat(half)}"leaf"${']}'.repeat(half)}`;
  });
}

const STACK_FRAME = /\bat (?:async )?[\w$.<>[\] ]*\(?(?:file:|node:|\/)[^)\s]*:\d+(?::\d+)?\)?|\bat [^\s()]+ \([^)]*:\d+:\d+\)/;
const SOURCE_PATH = /[\w/-]+\.(?:ts|js|mjs|cjs):\d+|node_modules\//;
const SQL = [/\bselect\s[\s\S]{0,200}?\sfrom\s/i, /\binsert\s+into\b/i, /\bupdate\s+"?\w+"?\s+set\b/i, /\bdelete\s+from\b/i, /relation "/i, /\bsyntax error at or near\b/i, /invalid byte sequence/i, /duplicate key value/i, /violates (?:not-null|foreign key|unique|check) constraint/i, /\bSQLSTATE\b/i, /\bQueryFailedError\b|\bDriverException\b/];

/**
 * What a client must never read: a stack frame, a source path, SQL or a driver's words, a subgraph
 * address. A match that is an echo of what the client sent itself (a validation error quoting a
 * bad value) is the client's own text, not a leak.
 */
function leaks(text: string, sent: string): string[] {
  const found: string[] = [];
  const patterns = [STACK_FRAME, SOURCE_PATH, ...SQL];
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match && !echoes(sent, match[0])) found.push(match[0]);
  }
  for (const address of internalAddresses) if (text.includes(address) && !sent.includes(address)) found.push(address);
  if (/ECONNREFUSED|ECONNRESET|EPIPE/.test(text) && !/ECONNREFUSED|ECONNRESET|EPIPE/.test(sent)) found.push('a socket error code');
  return found;
}

function echoes(sent: string, fragment: string): boolean {
  const unescaped = fragment.replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  return sent.includes(fragment) || sent.includes(unescaped) || sent.toLowerCase().includes(unescaped.toLowerCase());
}

interface GraphQLBody {
  data?: unknown;
  errors?: { message?: unknown; extensions?: { code?: unknown } }[];
}

/**
 * The checks every answer passes: not 5xx, JSON with stable codes on its errors, nothing internal.
 * Returns the parsed body for property-specific checks.
 */
function expectClean(res: Received, sent: Sent | string, options: { html?: boolean } = {}): GraphQLBody | undefined {
  const sentText = typeof sent === 'string' ? sent : describeSent(sent);
  const where = () => `${res.status} ${res.text.slice(0, 500)}\nfor ${sentText.slice(0, 500)}`;
  expect(res.status, where()).toBeGreaterThanOrEqual(200);
  expect(res.status, where()).toBeLessThan(500);
  expect(leaks(res.text, sentText), where()).toEqual([]);
  const type = String(res.headers['content-type'] ?? '');
  if (options.html && type.startsWith('text/html')) return undefined;
  // CORS preflights answer 204 with no body; everything else says what happened in JSON.
  if (res.status === 204) {
    expect(res.text, where()).toBe('');
    return undefined;
  }
  expect(type, where()).toMatch(/^application\/(?:graphql-response\+)?json/);
  let body: GraphQLBody;
  try {
    body = JSON.parse(res.text) as GraphQLBody;
  } catch {
    throw new Error(`not JSON: ${where()}`);
  }
  expect(typeof body === 'object' && body !== null && !Array.isArray(body), where()).toBe(true);
  if (res.status >= 400) expect(body.errors?.length, where()).toBeGreaterThan(0);
  for (const error of body.errors ?? []) expectStableCode(error, where);
  return body;
}

function expectStableCode(error: { message?: unknown; extensions?: { code?: unknown } }, where: () => string): void {
  const code = error.extensions?.code;
  expect(typeof error.message, where()).toBe('string');
  expect(code, where()).toMatch(/^[A-Z][A-Z0-9_]+$/);
  // Bad input is the client's error; INTERNAL_SERVER_ERROR means something of ours broke on it.
  expect(code, where()).not.toBe('INTERNAL_SERVER_ERROR');
  codes.set(String(code), (codes.get(String(code)) ?? 0) + 1);
}

function describeSent(sent: Sent): string {
  const body = sent.body === undefined ? '' : typeof sent.body === 'string' ? sent.body : Buffer.from(sent.body).toString('utf8');
  return `${sent.method ?? 'POST'} ${sent.path ?? '/graphql'} ${JSON.stringify(sent.headers ?? {})} ${body}`;
}

const settings = (property: string, reduced: number): fc.Parameters<unknown> => ({
  seed: SEED + property.length, // one fixed seed per property, all derived from SEED
  numRuns: runs(reduced),
  endOnFailure: true,
  interruptAfterTimeLimit: TIMEOUT - 5_000,
});

// ---- GraphQL documents -------------------------------------------------------------------------

const FIELDS = ['me', 'user', 'users', 'workspace', 'members', 'todos', 'edges', 'node', 'id', 'name', 'email', 'roles', 'permissions', 'mySessions', 'accessMap', '__typename', '__schema', '__type', 'types', 'fields', 'type', 'ofType', 'nope'];
const name = fc.constantFrom(...FIELDS);
const ident = fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,12}$/);

/** GraphQL literals, including deeply nested lists and objects (the parser is recursive). */
const literal: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('1e400', '-0', '9007199254740993', 'null', 'true', '$v', 'ENUM', '""""""', '"\\u0000"', '"\\uD800"'),
  fc.string({ maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => '{a:'.repeat(n) + '1' + '}'.repeat(n)),
);

interface Tree {
  field: string;
  alias?: string;
  args: string[];
  children: readonly Tree[];
}

const tree = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.record({
    field: name,
    alias: fc.option(ident, { nil: undefined, freq: 4 }),
    args: fc.array(fc.tuple(ident, literal).map(([k, v]) => `${k}: ${v}`), { maxLength: 2 }),
    children: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant<Tree[]>([]), fc.array(tie('node'), { maxLength: 4 })),
  }),
})).node;

const print = (node: Tree): string =>
  `${node.alias ? `${node.alias}: ` : ''}${node.field}${node.args.length ? `(${node.args.join(', ')})` : ''}${node.children.length ? ` { ${node.children.map(print).join(' ')} }` : ''}`;

/** Nested `field { field { ... } }` n deep: past the depth limit, or past the parser's recursion. */
const nested = (field: string, n: number, leaf = 'id') => `${`${field} { `.repeat(n)}${leaf}${' }'.repeat(n)}`;

const documents: fc.Arbitrary<string> = fc.oneof(
  // Random trees over real and unknown fields, with aliases and arguments.
  fc.array(tree, { minLength: 1, maxLength: 6 }).map((trees) => `{ ${trees.map(print).join(' ')} }`),
  // Deep: within the limit, past it, and far past what a recursive parser or visitor survives.
  fc.tuple(fc.constantFrom('me', 'workspace', 'members', 'a'), fc.integer({ min: 1, max: 30_000 })).map(([f, n]) => `{ ${nested(f, n)} }`),
  // Wide: many root fields, or many fields below one.
  fc.integer({ min: 1, max: 50_000 }).map((n) => `{ ${'me { id } '.repeat(n)}}`),
  fc.integer({ min: 1, max: 50_000 }).map((n) => `{ me { ${'id '.repeat(n)}} }`),
  // Alias and __typename floods.
  fc.integer({ min: 1, max: 40_000 }).map((n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`),
  fc.integer({ min: 1, max: 90_000 }).map((n) => `{ ${'__typename '.repeat(n)}}`),
  fc.integer({ min: 1, max: 5_000 }).map((n) => `{ me { ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} } }`),
  // Introspection abuse: deep ofType chains, aliased __schema copies, __type with odd names.
  fc.integer({ min: 1, max: 5_000 }).map((n) => `{ __schema { types { fields { type { ${nested('ofType', n, 'name')} } } } } }`),
  fc.integer({ min: 1, max: 500 }).map((n) => `{ ${Array.from({ length: n }, (_, i) => `s${i}: __schema { types { name fields { name args { name } } } }`).join(' ')} }`),
  fc.integer({ min: 1, max: 200 }).map((n) => `{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } ${'x: __type(name: "Query") { name } '.repeat(n % 3)} }`),
  fc.string({ maxLength: 60 }).map((s) => `{ __type(name: ${JSON.stringify(s)}) { name fields { name } } }`),
  // Fragment bombs: each fragment spreads the previous one twice (2^n fields if expanded naively).
  fc.integer({ min: 1, max: 2_000 }).map(
    (n) => `{ ...F${n} } fragment F0 on Query { __typename me { id } } ${Array.from({ length: n }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`).join(' ')}`,
  ),
  // Fragment cycles and fragments on unknown types.
  fc.integer({ min: 1, max: 500 }).map((n) => `{ ...C0 } ${Array.from({ length: n }, (_, i) => `fragment C${i} on Query { ...C${(i + 1) % n} }`).join(' ')}`),
  // Many operations in one document, many variables, many directives.
  fc.integer({ min: 1, max: 5_000 }).map((n) => Array.from({ length: n }, (_, i) => `query Q${i} { __typename }`).join(' ')),
  fc.integer({ min: 1, max: 10_000 }).map((n) => `query(${Array.from({ length: n }, (_, i) => `$v${i}: Int`).join(', ')}) { __typename }`),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `{ __typename ${'@include(if: true) '.repeat(n)}}`),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `{ ${'... on Query { '.repeat(n)}__typename${' }'.repeat(n)} }`),
  // Subscriptions and mutations over HTTP, deep literals in arguments.
  fc.constantFrom('subscription { __typename }', 'mutation { __typename }', 'mutation { logout(refreshToken: "x") }', 'subscription { todoChanged(workspaceId: "x") { id } }'),
  literal.map((value) => `{ user(id: ${value}) { id } }`),
  // Plain garbage, and documents truncated at a random point.
  fc.string({ maxLength: 500, unit: 'binary' }),
  fc.tuple(fc.array(tree, { minLength: 1, maxLength: 3 }), fc.nat()).map(([trees, cut]) => {
    const text = `{ ${trees.map(print).join(' ')} }`;
    return text.slice(0, cut % (text.length + 1));
  }),
);

describe('GraphQL documents', () => {
  it(
    'answers every generated document with a coded 4xx or a clean 200',
    async () => {
      await fc.assert(
        fc.asyncProperty(documents, fc.constantFrom(undefined, 'Q0', 'Missing', ''), fc.boolean(), async (query, operationName, signedIn) => {
          count('documents');
          const sent: Sent = json({ query, ...(operationName === undefined ? {} : { operationName }) });
          if (signedIn) sent.headers = { ...sent.headers, authorization: `Bearer ${userToken}` };
          expectClean(await send(sent), sent);
        }),
        settings('documents', 120),
      );
    },
    TIMEOUT,
  );
});

// ---- Variables -----------------------------------------------------------------------------------

/** Operations whose arguments reach subgraph SQL; the admin holds every permission, so they run. */
const OPERATIONS: Record<string, string> = {
  user: 'query($id: ID!) { user(id: $id) { id email } }',
  users: 'query($after: String, $first: Int, $filter: UserFilter) { users(after: $after, first: $first, filter: $filter) { totalCount edges { node { id } } } }',
  workspace: 'query($id: ID!) { workspace(id: $id) { id name } }',
  auditEvent: 'query($id: ID!) { auditEvent(id: $id) { id } }',
  auditEvents: 'query($after: String, $first: Int, $filter: AuditEventFilter) { auditEvents(after: $after, first: $first, filter: $filter) { totalCount } }',
  auditExport: 'query($from: DateTime!, $to: DateTime!) { auditExport(from: $from, to: $to) }',
  verifyAuditChain: 'query($fromSeq: Int, $toSeq: Int) { verifyAuditChain(fromSeq: $fromSeq, toSeq: $toSeq) { ok checked } }',
  permissions: 'query($module: String) { permissions(module: $module) { code } }',
  verifyEmail: 'mutation($token: String!) { verifyEmail(token: $token) { id } }',
  refreshToken: 'mutation($token: String!) { refreshToken(token: $token) { accessToken } }',
  logout: 'mutation($refreshToken: String!) { logout(refreshToken: $refreshToken) }',
  resetPassword: 'mutation($input: ResetPasswordInput!) { resetPassword(input: $input) }',
  login: 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
};
const VARIABLES: Record<string, string[]> = {
  user: ['id'],
  users: ['after', 'first', 'filter'],
  workspace: ['id'],
  auditEvent: ['id'],
  auditEvents: ['after', 'first', 'filter'],
  auditExport: ['from', 'to'],
  verifyAuditChain: ['fromSeq', 'toSeq'],
  permissions: ['module'],
  verifyEmail: ['token'],
  refreshToken: ['token'],
  logout: ['refreshToken'],
  resetPassword: ['input'],
  login: ['input'],
};

/** Strings that trip databases and parsers: NUL, lone surrogates, SQL, LIKE wildcards, huge. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.string({ maxLength: 20, unit: 'binary' }),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff x',
    "' OR 1=1 --",
    "'; DROP TABLE users; --",
    '%',
    '_%\\',
    '\\',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '0000000g-0000-0000-0000-000000000000',
    '2026-02-30T25:61:61Z',
    '9999-12-31T23:59:59.999Z',
    '-271821-04-20T00:00:00Z',
    '1970-01-01',
    'NaN',
    'Infinity',
    '-1',
    '1e309',
    'sha256:',
    'eyJhbGciOiJub25lIn0.e30.',
    '𝌆'.repeat(1000),
  ),
  fc.integer({ min: 1, max: 900_000 }).map((n) => 'x'.repeat(n)),
);
const number = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1e308, -1e308, 0.5, -0), fc.double());
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: number },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  { weight: 1, arbitrary: fc.record({ search: hostileString, disabled: fc.oneof(fc.boolean(), hostileString) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ actorId: hostileString, action: hostileString, targetType: hostileString, targetId: hostileString }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ email: hostileString, password: hostileString, token: hostileString, newPassword: hostileString }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 6 }) },
  // Huge and deep variable objects.
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 30_000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 50_000 }).map((n) => Array.from({ length: n }, (_, i) => i)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }).map((n) => new Deep(n)) },
);

describe('variables', () => {
  it(
    'answers every generated variable set without a 500 or a database error',
    async () => {
      const operation = fc.constantFrom(...Object.keys(OPERATIONS));
      const variables = operation.chain((op) =>
        fc.tuple(
          fc.constant(op),
          fc.oneof(
            { weight: 6, arbitrary: fc.record(Object.fromEntries(VARIABLES[op]!.map((v) => [v, hostileValue])), { requiredKeys: [] }) },
            { weight: 1, arbitrary: hostileValue },
          ),
          fc.constantFrom('admin', 'user', 'anonymous'),
        ),
      );
      await fc.assert(
        fc.asyncProperty(variables, async ([op, vars, who]) => {
          count('variables');
          const sent = json({ query: OPERATIONS[op], variables: vars });
          const token = who === 'admin' ? adminToken : who === 'user' ? userToken : undefined;
          if (token) sent.headers = { ...sent.headers, authorization: `Bearer ${token}` };
          expectClean(await send(sent), sent);
        }),
        settings('variables', 200),
      );
    },
    TIMEOUT,
  );
});

// ---- JSON bodies ---------------------------------------------------------------------------------

const VALID_BODY = '{"query":"{ __typename }"}';

/** A valid body with random bytes (often invalid UTF-8) spliced in at a random place. */
const invalidUtf8 = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.constantFrom(0xff, 0xc0, 0xed, 0xf8, 0x80), fc.nat()).map(([bytes, bad, at]) => {
  const base = Buffer.from('{"query":"{ __typename }","variables":{"x":"abc"}}');
  const cut = at % base.length;
  return Buffer.concat([base.subarray(0, cut), Buffer.from([bad, ...bytes]), base.subarray(cut)]);
});

const bodies: fc.Arbitrary<Uint8Array | string> = fc.oneof(
  invalidUtf8,
  fc.uint8Array({ maxLength: 2_000 }),
  // Duplicate keys: which one wins must not matter to safety.
  fc.tuple(fc.constantFrom('query', 'variables', 'operationName', 'extensions'), hostileString, hostileString).map(
    ([key, a, b]) => `{"query":"{ __typename }",${JSON.stringify(key)}:${JSON.stringify(a)},${JSON.stringify(key)}:${JSON.stringify(b)}}`,
  ),
  fc.constantFrom(
    '{"query":"{ me { id } }","query":"{ __typename }"}',
    '{"query":"{ __typename }","variables":{},"variables":"x","variables":[1]}',
    '{"__proto__":{"query":"{ __typename }"}}',
    '{"query":"{ __typename }","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    '{"query":"{ __typename }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"__proto__"}}}',
    '{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"0000000000000000000000000000000000000000000000000000000000000000"}}}',
    '{"extensions":{"persistedQuery":{"version":"x","sha256Hash":{}}}}',
    '{"query":null}',
    '{"query":1}',
    '{"query":["{ __typename }"]}',
    '{"query":{"kind":"Document"}}',
    '{"query":"{ __typename }","variables":"{\\"a\\":1}"}',
    '{"query":"{ __typename }","operationName":{}}',
    '{"query":"{ __typename }","extensions":[]}',
    '',
    'null',
    '[]',
    '"{ __typename }"',
    '{',
    '{"query":"{ __typename }"',
    '\ufeff{"query":"{ __typename }"}',
    '{"query":"{ __typename }"}{"query":"{ __typename }"}',
    '1e999999',
  ),
  // Batched arrays, small and large.
  fc.integer({ min: 1, max: 20_000 }).map((n) => `[${Array.from({ length: n }, () => VALID_BODY).join(',')}]`),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 20 }).map((items) => JSON.stringify(items)),
  // Any JSON value, and deep nesting in every member.
  fc.jsonValue({ maxDepth: 8 }).map((value) => JSON.stringify(value)),
  fc.tuple(fc.constantFrom('query', 'variables', 'extensions', 'operationName'), fc.integer({ min: 1, max: 200_000 })).map(
    ([key, n]) => `{"query":"{ __typename }",${JSON.stringify(key)}:${'['.repeat(n)}${']'.repeat(n)}}`,
  ),
  fc.integer({ min: 1, max: 100_000 }).map((n) => `{"query":"{ __typename }","extensions":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
  // Just past the body limit.
  fc.integer({ min: 0, max: 64 }).map((extra) => `{"query":"{ __typename }","variables":{"pad":"${'x'.repeat(1_000_000 + extra)}"}}`),
);

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/graphql-response+json',
  'application/graphql',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/json, text/plain',
  '',
);

describe('JSON bodies', () => {
  it(
    'answers every generated body, method and content type without a 500',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          bodies,
          contentTypes,
          fc.constantFrom('POST', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'GET', 'OPTIONS'),
          fc.boolean(),
          async (body, contentType, method, preflight) => {
            count('bodies');
            const headers: Record<string, string> = {};
            if (contentType) headers['content-type'] = contentType;
            if (preflight) headers['apollo-require-preflight'] = 'true';
            const sent: Sent = { method, headers, ...(method === 'GET' || method === 'OPTIONS' ? {} : { body }) };
            if (method === 'GET') sent.path = `/graphql?${new URLSearchParams({ query: String(typeof body === 'string' ? body : 'x').slice(0, 4_000) })}`;
            expectClean(await send(sent), sent);
          },
        ),
        settings('bodies', 80),
      );
      // Nothing a body said reached Object.prototype in this process's view of the answers.
      const res = await send(json({ query: '{ __typename }' }));
      expect(JSON.parse(res.text)).toEqual({ data: { __typename: 'Query' } });
    },
    TIMEOUT,
  );

  it('answers GET requests with generated query strings without a 500', async () => {
    const params = fc.dictionary(fc.constantFrom('query', 'variables', 'operationName', 'extensions', 'x'), fc.oneof(hostileString.map((s) => s.slice(0, 3_000)), documents.map((d) => d.slice(0, 3_000))), {
      maxKeys: 4,
    });
    await fc.assert(
      fc.asyncProperty(params, fc.boolean(), async (query, preflight) => {
        count('query strings');
        const sent: Sent = { method: 'GET', path: `/graphql?${new URLSearchParams(query)}`, headers: preflight ? { 'apollo-require-preflight': '1' } : {} };
        expectClean(await send(sent), sent);
      }),
      settings('query strings', 100),
    );
  }, TIMEOUT);
});

// ---- Headers -------------------------------------------------------------------------------------

const headerValue = fc.oneof(
  fc.string({ maxLength: 100 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, '')),
  fc.integer({ min: 1, max: 70_000 }).map((n) => 'h'.repeat(n)),
  fc.constantFrom('', ' ', 'text/html', 'application/json', '*/*', 'application/graphql-response+json;q=0.9, text/html', 'null', '127.0.0.1, 10.0.0.1', '::1', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz'),
);
const headerName = fc.oneof(
  fc.constantFrom('authorization', 'content-type', 'accept', 'x-request-id', 'x-forwarded-for', 'user-agent', 'origin', 'cookie', 'apollo-require-preflight', 'x-apollo-operation-name', 'apollographql-client-name', 'traceparent', 'access-control-request-headers', 'content-encoding', 'transfer-encoding-x', 'expect-x'),
  fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
);

describe('headers', () => {
  it(
    'answers every generated header set, oversized ones included, without a 500',
    async () => {
      const headers = fc.oneof(
        fc.dictionary(headerName, headerValue, { maxKeys: 12 }),
        // Many headers: Node keeps 2 000, and the total is still bounded by its 16 KiB header limit.
        fc.integer({ min: 1, max: 3_000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']))),
      );
      await fc.assert(
        fc.asyncProperty(headers, fc.constantFrom('POST', 'GET', 'OPTIONS'), async (given, method) => {
          count('headers');
          const sent: Sent = {
            method,
            headers: { 'content-type': 'application/json', ...given },
            ...(method === 'POST' ? { body: '{"query":"{ __typename me { id } }"}' } : { path: '/graphql?query=%7B__typename%7D' }),
          };
          const res = await send(sent);
          expectClean(res, sent, { html: method === 'GET' && String(given.accept ?? '').includes('text/html') });
          // A request id is echoed only when it is well-formed; anything else is replaced, never reflected.
          const echoed = res.headers['x-request-id'];
          if (echoed !== undefined && given['x-request-id'] !== undefined && res.status !== 431) {
            if (!/^[A-Za-z0-9._:-]{1,128}$/.test(given['x-request-id'])) expect(echoed).not.toBe(given['x-request-id']);
          }
        }),
        settings('headers', 150),
      );
    },
    TIMEOUT,
  );
});

// ---- JWTs ----------------------------------------------------------------------------------------

const enc = (value: unknown) => base64url.encode(typeof value === 'string' ? value : JSON.stringify(value));

describe('access tokens', () => {
  let stranger: SigningKey;
  beforeAll(async () => {
    stranger = await generateSigningKey();
  });

  it(
    'refuses every malformed or forged token with 401 UNAUTHENTICATED, never as anonymous',
    async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = fc.record(
        {
          sub: fc.oneof(fc.string({ maxLength: 20 }), fc.constant({}), fc.integer()),
          iss: fc.constantFrom('citadel-identity', 'someone', ''),
          aud: fc.constantFrom('citadel', 'other', ['citadel', 'x']),
          iat: fc.oneof(fc.constant(now), fc.integer({ min: -1e10, max: 1e10 }), fc.constant('now')),
          exp: fc.oneof(fc.constant(now + 600), fc.integer({ min: -1e10, max: 1e12 }), fc.constant('never')),
          sid: fc.string({ maxLength: 40 }),
          amr: fc.oneof(fc.constant(['otp']), fc.jsonValue({ maxDepth: 2 })),
        },
        { requiredKeys: [] },
      );
      const header = fc.record(
        {
          alg: fc.constantFrom('none', 'None', 'NONE', 'HS256', 'RS256', 'EdDSA', 'ES256', '', 'ed25519'),
          typ: fc.constantFrom('at+jwt', 'JWT', 'citadel-service+jwt', ''),
          kid: fc.oneof(fc.constant(identityKeyKid()), fc.string({ maxLength: 30 }), fc.constant('../../etc/passwd')),
          jku: fc.constant(`${platform.identityUrl}/.well-known/jwks.json`),
          x5u: fc.constant('http://127.0.0.1:1/keys'),
          crit: fc.constant(['exp']),
          jwk: fc.constant({ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }),
        },
        { requiredKeys: ['alg'] },
      );
      const token: fc.Arbitrary<string | SignedSpec> = fc.oneof(
        // Unsigned or oddly signed: alg none, HS256 and friends, any header and claims.
        fc.tuple(header, claims, fc.string({ maxLength: 60 })).map(([h, c, sig]) => `${enc(h)}.${enc(c)}.${enc(sig)}`),
        fc.tuple(claims).map(([c]) => `${enc({ alg: 'none', typ: 'at+jwt' })}.${enc({ iss: 'citadel-identity', aud: 'citadel', sub: 'x', iat: now, exp: now + 600, ...c })}.`),
        // Signed with a key identity never published, under identity's kid or the stranger's.
        fc.tuple(claims, fc.boolean()).map(([c, ownKid]): SignedSpec => ({ c, ownKid, key: 'stranger' })),
        // Signed with identity's real key but wrong in some claim or header (typ, aud, iss, age).
        fc.tuple(claims, fc.constantFrom('citadel-service+jwt', 'JWT', 'at+jwt')).map(([c, typ]): SignedSpec => ({ c, typ, key: 'identity' })),
        // Garbage segments and shapes.
        fc.array(fc.string({ maxLength: 40 }), { maxLength: 6 }).map((parts) => parts.join('.')),
        fc.array(fc.base64String({ maxLength: 80 }), { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
        fc.constantFrom('.', '..', '...', 'a.b.c', '=.=.=', `${userTokenOr()}x`, `x${userTokenOr()}`, `${userTokenOr()}.x`, userTokenOr().split('.').reverse().join('.')),
        // Huge tokens: just under and over the header limit.
        fc.integer({ min: 1, max: 40_000 }).map((n) => `${enc({ alg: 'EdDSA' })}.${'A'.repeat(n)}.${'B'.repeat(86)}`),
      );
      const scheme = fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Bearer\t', 'Basic ', '', 'Bearer x ', 'Token ');

      await fc.assert(
        fc.asyncProperty(token, scheme, fc.constantFrom('{ me { id } }', '{ __typename }'), async (made, prefix, query) => {
          count('jwts');
          const raw = typeof made === 'string' ? made : await signed(made, stranger, now);
          const authorization = `${prefix}${raw}`.replace(/[^\t\x20-\x7e]/g, '');
          const sent: Sent = { headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ query }) };
          const res = await send(sent);
          const body = expectClean(res, sent);
          // Only a whole Authorization header of nothing but spaces counts as no token at all.
          if (authorization.trim() === '') return;
          if (res.status === 431) return; // too large to be read at all
          const where = `${res.status} ${res.text.slice(0, 300)} for ${authorization.slice(0, 300)}`;
          expect(res.status, where).toBe(401);
          expect(body?.errors?.[0]?.extensions?.code, where).toBe('UNAUTHENTICATED');
          expect(body?.data, where).toBeUndefined();
        }),
        settings('jwts', 200),
      );
    },
    TIMEOUT,
  );
});

function identityKeyKid(): string {
  return identityKey?.kid ?? 'unknown';
}

function userTokenOr(): string {
  return userToken ?? 'a.b.c';
}

interface SignedSpec {
  c: Record<string, unknown>;
  key: 'stranger' | 'identity';
  ownKid?: boolean;
  typ?: string;
}

/** A token signed with a real Ed25519 key that still must be refused. */
async function signed(spec: SignedSpec, stranger: SigningKey, now: number): Promise<string> {
  const key = spec.key === 'identity' ? identityKey : stranger;
  const kid = spec.key === 'identity' || spec.ownKid ? identityKey.kid : stranger.kid;
  const claims = { iss: 'citadel-identity', aud: 'citadel', sub: 'fuzz', iat: now, exp: now + 600, ...spec.c };
  if (spec.key === 'identity' && spec.typ === 'at+jwt') {
    // The real key and type: make sure something is wrong, or the token would be valid.
    claims.aud = 'not-citadel';
  }
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: spec.typ ?? 'at+jwt' });
  return jwt.sign(key.privateKey);
}

// ---- graphql-ws ----------------------------------------------------------------------------------

/** Close codes a server may use to refuse a client; 1011 (internal error) and 1006 (no close frame) are ours failing. */
const CLIENT_FAULT_CLOSES = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009, 4400, 4401, 4403, 4406, 4408, 4409, 4429, 4499]);

type Frame = { text: string } | { bytes: Uint8Array; binary: boolean };

/** Built once the user's token exists, so a valid connection_init is among the messages. */
const wsMessage = (): fc.Arbitrary<Frame> => fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ text: JSON.stringify(v) })) },
  {
    weight: 4,
    arbitrary: fc
      .record({
        type: fc.constantFrom('connection_init', 'subscribe', 'complete', 'ping', 'pong', 'next', 'error', 'connection_ack', 'start', 'stop', 'connection_terminate', ''),
        id: fc.oneof(fc.constant('1'), fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)),
        payload: fc.oneof(
          fc.record({ query: fc.oneof(documents.map((d) => d.slice(0, 200_000)), fc.constantFrom('subscription { todoChanged(workspaceId: "x") { id } }', '{ me { id } }')), variables: hostileValue, operationName: fc.option(fc.string({ maxLength: 10 })) }, { requiredKeys: ['query'] }),
          fc.record({ authorization: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(`Bearer ${userTokenOr()}`)) }),
          fc.jsonValue({ maxDepth: 3 }),
        ),
      }, { requiredKeys: ['type'] })
      .map((m) => ({ text: JSON.stringify(m) })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ bytes, binary: true })) },
  // Invalid UTF-8 in a text frame; ws closes with 1007.
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 16 }).map((bytes) => ({ bytes: Uint8Array.from([0xff, ...bytes]), binary: false })) },
  // Past maxPayload (MAX_BODY_BYTES); ws closes with 1009.
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 64 }).map((n) => ({ text: `{"type":"ping","payload":"${'x'.repeat(1_000_000 + n)}"}` })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }).map((text) => ({ text })) },
);

interface WsOutcome {
  received: string[];
  close?: { code: number; reason: string };
  /** The client's own refusal: the server chose none of the subprotocols it asked for. */
  noSubprotocol?: boolean;
}

/** Opens a socket, sends the frames, then a ping, and waits for the pong or the close. */
async function wsCase(protocol: string | undefined, init: boolean, frames: Frame[], afterAck = false): Promise<WsOutcome> {
  const url = gql.replace(/^http/, 'ws');
  const socket = protocol === undefined ? new WebSocket(url) : new WebSocket(url, protocol);
  const outcome: WsOutcome = { received: [] };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no pong and no close within 5 s; received ${outcome.received.join(' | ').slice(0, 500)}`)), 5_000);
    const finish = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.on('unexpected-response', (_req, res) => {
      outcome.close = { code: res.statusCode ?? 0, reason: 'http' };
      finish();
    });
    socket.on('error', (error) => {
      if (/no subprotocol|invalid subprotocol/i.test(error.message)) outcome.noSubprotocol = true;
    });
    socket.on('close', (code, reason) => {
      outcome.close ??= { code, reason: reason.toString() };
      finish();
    });
    const sendFrames = () => {
      for (const frame of frames) {
        if (socket.readyState !== WebSocket.OPEN) break;
        if ('text' in frame) socket.send(frame.text);
        else socket.send(frame.bytes, { binary: frame.binary });
      }
      if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}');
    };
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      outcome.received.push(text);
      if (afterAck && /"type":"connection_ack"/.test(text)) sendFrames();
      if (/"type":"pong"/.test(text) && outcome.received.length > 0) {
        socket.close(1000);
      }
    });
    socket.on('open', () => {
      if (init) socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      // Fuzz cases do not wait for the ack (a subscribe before it is one of the things tried).
      if (!afterAck) sendFrames();
    });
  });
  return outcome;
}

describe('graphql-ws', () => {
  it(
    'answers every generated message sequence with protocol messages and client-fault close codes',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('graphql-transport-ws', 'graphql-transport-ws', 'graphql-ws', 'x', undefined),
          fc.boolean(),
          fc.array(wsMessage(), { minLength: 1, maxLength: 6 }),
          async (protocol, init, frames) => {
            count('websocket');
            const sentText = frames.map((f) => ('text' in f ? f.text : Buffer.from(f.bytes).toString('utf8'))).join('\n');
            const outcome = await wsCase(protocol, init, frames);
            const where = () => `${JSON.stringify(outcome).slice(0, 800)}\nfor ${protocol} ${init} ${sentText.slice(0, 800)}`;
            // graphql-ws speaks only graphql-transport-ws; asked for another, it accepts none, and our client hangs up.
            if (outcome.noSubprotocol) {
              expect(protocol, where()).not.toBe('graphql-transport-ws');
              return;
            }
            if (outcome.close?.reason === 'http') {
              expect(outcome.close.code, where()).toBeGreaterThanOrEqual(400);
              expect(outcome.close.code, where()).toBeLessThan(500);
              return;
            }
            if (outcome.close && outcome.close.code !== 1000 && outcome.close.code !== 1005) {
              expect(CLIENT_FAULT_CLOSES.has(outcome.close.code), where()).toBe(true);
            }
            expect(leaks(outcome.close?.reason ?? '', sentText), where()).toEqual([]);
            for (const text of outcome.received) {
              expect(leaks(text, sentText), where()).toEqual([]);
              const message = JSON.parse(text) as { type: string; payload?: unknown };
              expect(['connection_ack', 'next', 'error', 'complete', 'ping', 'pong'], where()).toContain(message.type);
              const errors = message.type === 'error' ? (message.payload as unknown[]) : message.type === 'next' ? ((message.payload as GraphQLBody).errors ?? []) : [];
              for (const error of errors as { message?: unknown; extensions?: { code?: unknown } }[]) expectStableCode(error, where);
            }
          },
        ),
        settings('websocket', 50),
      );
    },
    TIMEOUT,
  );
});

// ---- Defects the fuzzer found -------------------------------------------------------------------

describe('regressions', () => {
  it('a document nested thousands of levels deep overflowed the parser stack: a 500', async () => {
    for (const query of [
      `{ __schema { types { fields { type { ${nested('ofType', 3_000, 'name')} } } } } }`,
      `{ user(id: ${'['.repeat(2_500)}${']'.repeat(2_500)}) { id } }`,
      `{ ${'... on Query { '.repeat(6_000)}__typename${' }'.repeat(6_000)} }`,
    ]) {
      const sent = json({ query });
      const res = await send(sent);
      expect(res.status).toBe(400);
      expect(expectClean(res, sent)?.errors?.[0]?.extensions?.code).toBe('MAX_NESTING_LIMIT');
    }
  });

  it('the same document over graphql-ws is refused with the same code', async () => {
    const query = `{ ${nested('me', 3_000)} }`;
    const outcome = await wsCase('graphql-transport-ws', true, [{ text: JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }) }], true);
    const error = outcome.received.map((text) => JSON.parse(text) as { type: string; payload: { extensions?: { code?: string } }[] }).find((m) => m.type === 'error');
    expect(error?.payload[0]?.extensions?.code).toBe('MAX_NESTING_LIMIT');
  });

  it('1 500 small headers made Node drop Host and answer an empty, non-JSON 400', async () => {
    const sent: Sent = { headers: { 'content-type': 'application/json', ...Object.fromEntries(Array.from({ length: 1_500 }, (_, i) => [`x-h${i}`, 'v'])) }, body: VALID_BODY };
    const res = await send(sent);
    expect(res.status).toBe(400);
    expect(expectClean(res, sent)?.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('headers past 16 KiB got an empty, non-JSON 431 from Node', async () => {
    const sent: Sent = { headers: { 'content-type': 'application/json', authorization: `Bearer ${'A'.repeat(20_000)}` }, body: VALID_BODY };
    const res = await send(sent);
    expect(res.status).toBe(431);
    expect(expectClean(res, sent)?.errors?.[0]?.extensions?.code).toBe('REQUEST_HEADER_FIELDS_TOO_LARGE');
  });
});

// ---- After the run -------------------------------------------------------------------------------

describe('after the run', () => {
  it('every service is still up and ready, the same gateway process still serves', async () => {
    expect(findProcess(platform.process.pid!, 'gateway/src/main.ts')).toBe(gatewayPid);
    const bases = [platform.gatewayUrl, platform.identityUrl, platform.authzUrl, platform.auditUrl, ...Object.values(platform.featureUrls)];
    for (const base of bases) {
      const res = await fetch(`${base}/health/ready`);
      expect(res.status, base).toBe(200);
    }
    // Signed in afresh: a full run (FUZZ_RUNS) outlasts the access token's 15 minutes.
    const fresh = await login('fuzz.user@example.com', 'a perfectly long passphrase');
    const me = await graphqlRequest(gql, '{ me { id } }', { token: fresh });
    expect(me.body.errors).toBeUndefined();
    // No request reached the gateway's catch-all 500 path, and Apollo met no unexpected error.
    const failures = platform
      .output()
      .slice(outputAtStart)
      .split('\n')
      .filter((line) => line.includes('"service":"gateway"') && /"msg":"(?:request failed|Unexpected error processing request[^"]*)"/.test(line));
    expect(failures.map((line) => line.slice(0, 500))).toEqual([]);
  });

  it('the gateway memory grew less than the bound', async () => {
    await new Promise((r) => setTimeout(r, 2_000)); // let V8 finish the collections the last bursts started
    const rssAfterMib = memoryMib(gatewayPid, 'VmRSS');
    const peakMib = memoryMib(gatewayPid, 'VmHWM');
    process.stdout.write(`fuzz: gateway RSS ${rssBeforeMib.toFixed(1)} MiB before, ${rssAfterMib.toFixed(1)} MiB after, peak ${peakMib.toFixed(1)} MiB\n`);
    expect(rssBeforeMib).toBeGreaterThan(0);
    expect(rssAfterMib - rssBeforeMib).toBeLessThan(RSS_GROWTH_BOUND_MIB);
  });
});
