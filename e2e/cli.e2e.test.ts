// The citadel CLI against the real platform: the documented example flow end to end, the
// credentials file's permissions, token refresh (stale expiry, a refused token, a spent refresh
// token), TOTP sign-in, exit codes, and a gateway that runs only persisted documents and refuses
// access tokens older than 5 s (so every call and the watch must refresh for real).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { REPO_ROOT } from '@citadel/kit/paths';
import { base32Decode, stepAt, totpCode } from '../subgraphs/identity/src/mfa/totp';
import { launch, startExtraGateway, type ExtraGateway, type Platform } from './launcher';

const CLI = join(REPO_ROOT, 'clients/cli/bin/citadel.js');
const FLOW = join(REPO_ROOT, 'clients/cli/examples/flow.sh');
const PASSWORD = 'cli e2e passphrase, long enough';

// Each command is a fresh Node process (tsx included): generous limits for a busy machine.
vi.setConfig({ testTimeout: 180_000 });

let platform: Platform;
let only: ExtraGateway;
let gql: string;
const children = new Set<ChildProcess>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(command: string, args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input ?? '');
    child.once('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `citadel <args>` with a config folder and gateway URL. */
const citadel = (configDir: string, url: string, args: string[], input?: string) =>
  exec(process.execPath, [CLI, ...args], { CITADEL_CONFIG_DIR: configDir, CITADEL_URL: url }, input);

/** The JSON a successful `--json` run printed; fails with its stderr otherwise. */
async function json<T = Record<string, unknown>>(run: Promise<Run>): Promise<T> {
  const { code, stdout, stderr } = await run;
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout) as T;
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'citadel-cli-'));
const credentialsOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { sessions: Record<string, { accessToken: string; refreshToken: string; expiresAt: string }> };

/** Rewrites the stored session of `dir` (the one session it has). */
function editSession(dir: string, change: (session: { accessToken: string; refreshToken: string; expiresAt: string }) => void): void {
  const file = credentialsOf(dir);
  for (const session of Object.values(file.sessions)) change(session);
  writeFileSync(join(dir, 'credentials.json'), JSON.stringify(file));
}

/** Registers and signs in a fresh account with the CLI; returns its config folder and email. */
async function signedIn(url: string): Promise<{ dir: string; email: string }> {
  const dir = tempDir();
  const email = `cli-${randomUUID().slice(0, 8)}@example.com`;
  await json(citadel(dir, url, ['register', '--email', email, '--name', 'Cleo', '--password-stdin', '--json'], `${PASSWORD}\n`));
  await json(citadel(dir, url, ['login', '--email', email, '--password-stdin', '--json'], `${PASSWORD}\n`));
  return { dir, email };
}

/** Resolves once `read()` holds `text`, or fails after `limitMs` with what it held. */
async function waitForText(read: () => string, text: string, limitMs = 30_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!read().includes(text)) {
    if (Date.now() > until) throw new Error(`"${text}" did not appear in:\n${read()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  platform = await launch();
  gql = `${platform.gatewayUrl}/graphql`;
  only = await startExtraGateway(platform, {
    PERSISTED_DOCUMENTS: 'only',
    PERSISTED_DOCUMENTS_PATH: join(REPO_ROOT, 'clients/cli/src/gql/persisted-documents.json'),
    ACCESS_TOKEN_MAX_AGE_SECONDS: '5',
  });
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  only?.stop();
  await platform?.stop();
});

describe('the example flow (docs/cli.md)', () => {
  it('runs end to end: two users, a shared workspace, a todo assigned and completed, --json checked, the event watched', async () => {
    const configDir = tempDir();
    const run = await exec('bash', [FLOW], { CITADEL_URL: platform.gatewayUrl, CITADEL_CONFIG_DIR: configDir });
    expect(run.stderr).not.toMatch(/citadel: /);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('checked: Write the release notes is DONE, assigned to Bob');
    expect(run.stdout).toMatch(/^COMPLETED Write the release notes by Bob$/m);
    expect(run.stdout).toMatch(/^CREATED Write the release notes by Alice$/m);
    expect(run.stdout).toMatch(/^ID\s+STATUS\s+TITLE\s+ASSIGNEE\s+DUE$/m);
    expect(run.stdout).toContain('flow complete');
    // Tokens are never printed (JWTs start with eyJ), and logout removed both credentials files.
    expect(run.stdout + run.stderr).not.toContain('eyJ');
    expect(existsSync(join(configDir, 'alice', 'credentials.json'))).toBe(false);
    expect(existsSync(join(configDir, 'bob', 'credentials.json'))).toBe(false);
  }, 300_000);
});

describe('credentials', () => {
  it('keeps tokens in a file only the user can read (0600, folder 0700), and prints none of them', async () => {
    const dir = tempDir();
    const email = `cli-${randomUUID().slice(0, 8)}@example.com`;
    expect((await citadel(dir, gql, ['register', '--email', email, '--name', 'Cleo', '--password-stdin'], `${PASSWORD}\n`)).code).toBe(0);
    const login = await citadel(join(dir, 'nested'), gql, ['login', '--email', email, '--password-stdin'], `${PASSWORD}\n`);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`as Cleo <${email}>`);
    const path = join(dir, 'nested', 'credentials.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    const session = Object.values(credentialsOf(join(dir, 'nested')).sessions)[0]!;
    expect(credentialsOf(join(dir, 'nested')).sessions).toHaveProperty([gql]);
    expect(login.stdout + login.stderr).not.toContain(session.accessToken);
    expect(login.stdout + login.stderr).not.toContain(session.refreshToken);
  });

  it('refreshes an access token past its expiry and stores the rotated refresh token', async () => {
    const { dir, email } = await signedIn(gql);
    const before = Object.values(credentialsOf(dir).sessions)[0]!;
    editSession(dir, (s) => (s.expiresAt = new Date(Date.now() - 1000).toISOString()));
    expect(await json(citadel(dir, gql, ['me', '--json']))).toMatchObject({ email });
    const after = Object.values(credentialsOf(dir).sessions)[0]!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    // The access token itself may come back identical: Ed25519 signatures are deterministic, so a
    // refresh within the login's second signs the same claims (sub, sid, iat, exp) into the same text.
    expect(Date.parse(after.expiresAt)).toBeGreaterThan(Date.now());
    expect(statSync(join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
  });

  it('refreshes when the gateway refuses the access token (UNAUTHENTICATED) and retries the call', async () => {
    const { dir, email } = await signedIn(gql);
    editSession(dir, (s) => (s.accessToken = 'not-a-token'));
    expect(await json(citadel(dir, gql, ['workspace', 'list', '--json']))).toEqual([]);
    expect(await json(citadel(dir, gql, ['me', '--json']))).toMatchObject({ email });
    expect(Object.values(credentialsOf(dir).sessions)[0]!.accessToken).not.toBe('not-a-token');
  });

  it('ends with exit 3 and forgets the tokens when the refresh token is no longer valid', async () => {
    const { dir } = await signedIn(gql);
    editSession(dir, (s) => {
      s.refreshToken = 'spent';
      s.expiresAt = new Date(0).toISOString();
    });
    const run = await citadel(dir, gql, ['me']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^citadel: INVALID_REFRESH_TOKEN: .*citadel login/);
    expect(existsSync(join(dir, 'credentials.json'))).toBe(false);
  });

  it('logout ends the session on the server: the old refresh token no longer works', async () => {
    const { dir } = await signedIn(gql);
    const { refreshToken } = Object.values(credentialsOf(dir).sessions)[0]!;
    expect((await citadel(dir, gql, ['logout'])).code).toBe(0);
    const reuse = await graphqlRequest(gql, 'mutation($t: String!) { refreshToken(token: $t) { accessToken } }', { variables: { t: refreshToken } });
    expect(reuse.body.errors?.[0]?.extensions?.code).toBe('INVALID_REFRESH_TOKEN');
    const me = await citadel(dir, gql, ['me']);
    expect(me.code).toBe(3);
    expect(me.stderr).toMatch(/^citadel: NOT_SIGNED_IN: /);
  });
});

describe('sign-in with TOTP', () => {
  it('completes the MFA challenge with --totp, and says clearly when the code is wrong', async () => {
    const email = `mfa-${randomUUID().slice(0, 8)}@example.com`;
    await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: { email, password: PASSWORD, name: 'Mona' } } });
    const login = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { variables: { i: { email, password: PASSWORD } } });
    const token = login.body.data!.login.accessToken;
    const setup = await graphqlRequest<{ enableTotp: { secret: string } }>(gql, 'mutation { enableTotp { secret } }', { token });
    const secret = base32Decode(setup.body.data!.enableTotp.secret);
    const step = stepAt(Date.now());
    const confirmed = await graphqlRequest(gql, 'mutation($c: String!) { confirmTotp(code: $c) }', { token, variables: { c: totpCode(secret, step) } });
    expect(confirmed.body.errors).toBeUndefined();

    const dir = tempDir();
    const wrong = await citadel(dir, gql, ['login', '--email', email, '--password-stdin', '--totp', '000000'], `${PASSWORD}\n`);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toMatch(/^citadel: INVALID_MFA_CODE: [^\n]+$/);
    // Not a terminal and no --totp: a clear usage error instead of a hang.
    const noCode = await citadel(dir, gql, ['login', '--email', email, '--password-stdin'], `${PASSWORD}\n`);
    expect(noCode.code).toBe(2);
    expect(noCode.stderr).toContain('--totp');

    const right = await json<{ user: { email: string } }>(
      citadel(dir, gql, ['login', '--email', email, '--password-stdin', '--totp', totpCode(secret, step + 1), '--json'], `${PASSWORD}\n`),
    );
    expect(right.user.email).toBe(email);
    expect(await json(citadel(dir, gql, ['me', '--json']))).toMatchObject({ email, name: 'Mona' });
  });
});

describe('errors and exit codes', () => {
  it('prints one line with the code and exits non-zero: API error 1, usage 2, not signed in 3, unreachable 4', async () => {
    const dir = tempDir();
    const wrong = await citadel(dir, gql, ['login', '--email', 'nobody@example.com', '--password-stdin'], 'wrong password\n');
    expect([wrong.code, wrong.stderr]).toEqual([1, 'citadel: INVALID_CREDENTIALS: Email or password is incorrect\n']);
    const usage = await citadel(dir, gql, ['todo', 'create', 'only-a-workspace']);
    expect([usage.code, usage.stderr]).toEqual([2, 'citadel: USAGE: citadel todo create: missing <title>\n']);
    const badOption = await citadel(dir, gql, ['todo', 'list', 'w', '--status', 'LATE']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('--status must be one of OPEN, DONE');
    const anonymous = await citadel(dir, gql, ['workspace', 'list']);
    expect(anonymous.code).toBe(3);
    const unreachable = await citadel(dir, 'http://127.0.0.1:9', ['register', '--email', 'a@example.com', '--name', 'A', '--password-stdin'], `${PASSWORD}\n`);
    expect([unreachable.code, unreachable.stderr]).toEqual([4, 'citadel: NETWORK_ERROR: cannot reach the gateway at http://127.0.0.1:9/graphql\n']);
  });

  it('a workspace you are not in is NOT_FOUND, not a stack trace', async () => {
    const { dir } = await signedIn(gql);
    const run = await citadel(dir, gql, ['todo', 'list', randomUUID()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^citadel: NOT_FOUND: [^\n]+\n$/);
  });
});

describe('a gateway with PERSISTED_DOCUMENTS=only and 5-second access tokens', () => {
  it('refuses hand-written documents (so what follows ran from the manifest)', async () => {
    const res = await graphqlRequest(only.url, '{ me { id } }');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
  });

  it('runs every command, refreshing tokens the gateway finds too old, and watch keeps streaming across expiries', async () => {
    const { dir, email } = await signedIn(only.url);
    const workspace = await json<{ id: string }>(citadel(dir, only.url, ['workspace', 'create', 'Only persisted', '--json']));

    const watcher = spawn(process.execPath, [CLI, 'watch', workspace.id], { cwd: REPO_ROOT, env: { ...process.env, CITADEL_CONFIG_DIR: dir, CITADEL_URL: only.url } });
    children.add(watcher);
    let out = '';
    let err = '';
    watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    watcher.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await waitForText(() => err, 'watching workspace');
    // The subscription's token grows too old after 5 s: the gateway ends it, the CLI refreshes and subscribes again.
    await waitForText(() => err, 'access token expired: refreshed, subscribing again');
    expect(watcher.exitCode).toBeNull();

    await waitForText(() => err.split('watching workspace').length > 2 ? 'resubscribed' : '', 'resubscribed');

    // Every call below starts with a token older than 5 s, so each one is refused once and refreshed.
    // An event in the moment between an expiry and the new subscription is missed (docs/cli.md), so
    // a todo whose event fell in it is followed by another.
    const created: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const todo = await json<{ id: string }>(citadel(dir, only.url, ['todo', 'create', workspace.id, `Persisted only ${attempt}`, '--json']));
      created.push(todo.id);
      const seen = await waitForText(() => out, `CREATED    ${todo.id}  "Persisted only ${attempt}"`, 8_000).then(() => true, () => false);
      if (seen) break;
    }
    expect(out).toMatch(/^\S+ {2}CREATED {4}\S+ {2}"Persisted only \d" {2}status=OPEN {2}assignee=- {2}by=Cleo$/m);
    expect(await json(citadel(dir, only.url, ['me', '--json']))).toMatchObject({ email });
    const todos = await json<{ id: string }[]>(citadel(dir, only.url, ['todo', 'list', workspace.id, '--json']));
    expect(todos.map((t) => t.id)).toEqual(created);

    watcher.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => watcher.once('close', resolve));
    expect(code).toBe(0);
    expect(err).not.toMatch(/citadel: /);
  });
});
