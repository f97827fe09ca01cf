// Account administration against real PostgreSQL, through identity's endpoint: the Relay list of
// accounts, one account by id, disabling (sessions end, sign-in refused) and enabling.
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Caller } from '@citadel/kit/auth';
import { withClient } from '@citadel/kit/testing/database';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { base32Decode, stepAt, totpCode } from './mfa/totp';
import { useIdentity } from './testing/identity-harness';
import { USER_SCOPES } from './users/user.scopes';

const USERS = `query($filter: UserFilter, $first: Int, $after: String) {
  users(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id email name disabled } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;
const USER = 'query($id: ID!) { user(id: $id) { id email disabled disabledAt } }';
const DISABLE = 'mutation($id: ID!) { disableUser(id: $id) { id disabled disabledAt } }';
const ENABLE = 'mutation($id: ID!) { enableUser(id: $id) { id disabled disabledAt } }';
const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken mfaRequired mfaChallenge } }';
const REFRESH = 'mutation($t: String!) { refreshToken(token: $t) { accessToken } }';

interface UsersPage {
  edges: { cursor: string; node: { id: string; email: string; name: string; disabled: boolean } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

const { identity, seed } = useIdentity();

/** A word no other test's accounts contain, to search one test's accounts out of the shared database. */
const uniqueTag = () => `tag${randomBytes(5).toString('hex')}`;

/** An administrator as the gateway would present them: signed in, holding both account scopes. */
async function admin(): Promise<Caller & { userId: string }> {
  const user = await seed.user();
  const caller = await identity.callerFor(user.accessToken);
  return { ...caller, userId: user.id, permissions: [USER_SCOPES.read, USER_SCOPES.manage] };
}

async function listUsers(caller: Caller, variables: Record<string, unknown>): Promise<UsersPage> {
  const res = await identity.call<{ users: UsersPage }>(USERS, { caller, variables });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.users;
}

/** Every page of `filter`, `first` at a time, following endCursor. */
async function allPages(caller: Caller, filter: Record<string, unknown>, first: number): Promise<UsersPage[]> {
  const pages: UsersPage[] = [];
  let after: string | null = null;
  for (let i = 0; i < 20; i++) {
    const page: UsersPage = await listUsers(caller, { filter, first, after });
    pages.push(page);
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  return pages;
}

/** Accounts written straight to the table, for times the API cannot make (and for speed). */
async function insertUsers(rows: { id: string; email: string; createdAt: string }[]): Promise<void> {
  await withClient(identity.dbUrl, async (c) => {
    for (const row of rows) {
      await c.query(
        `insert into identity.users (id, email, email_canonical, name, password_hash, created_at) values ($1, $2, $2, 'Inserted', 'x', $3)`,
        [row.id, row.email, row.createdAt],
      );
    }
  });
}

const waitingOnLock = `select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;

const login = (email: string, password: string) => identity.call(LOGIN, { variables: { input: { email, password } } });

describe('users', () => {
  it('pages through every match oldest first over three pages, totalCount on each, with stable cursors', async () => {
    const caller = await admin();
    const tag = uniqueTag();
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await seed.user({ name: `Pager ${tag} ${i}` })).id);
    const filter = { search: tag };

    const pages = await allPages(caller, filter, 3);
    expect(pages.map((p) => p.edges.length)).toEqual([3, 3, 1]);
    expect(pages.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((p) => p.totalCount)).toEqual([7, 7, 7]);
    expect(pages.flatMap((p) => p.edges.map((e) => e.node.id))).toEqual(created);
    for (const page of pages) {
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)!.cursor);
      for (const edge of page.edges) expect(edge.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    }

    // A new match sorts last: the old cursors still give the same pages; only the count moves.
    const late = await seed.user({ name: `Pager ${tag} late` });
    const again = await listUsers(caller, { filter, first: 3, after: pages[0]!.pageInfo.endCursor });
    expect(again.edges).toEqual(pages[1]!.edges);
    expect(again.totalCount).toBe(8);
    const last = await listUsers(caller, { filter, first: 3, after: pages[1]!.pageInfo.endCursor });
    expect(last.edges.map((e) => e.node.id)).toEqual([created[6], late.id]);
    expect(last.pageInfo.hasNextPage).toBe(false);
  });

  it('regression: accounts created within one millisecond, or at one instant, are each listed exactly once', async () => {
    const caller = await admin();
    const tag = uniqueTag();
    // Postgres keeps microseconds; a cursor holding a JS Date (milliseconds) would repeat or skip these.
    const times = ['2001-02-03T04:05:06.123001Z', '2001-02-03T04:05:06.123001Z', '2001-02-03T04:05:06.123002Z', '2001-02-03T04:05:06.123999Z', '2001-02-03T04:05:06.124000Z'];
    const rows = times.map((createdAt, i) => ({ id: randomUUID(), email: `${tag}-${i}@example.com`, createdAt }));
    await insertUsers(rows);
    const tie = [rows[0]!.id, rows[1]!.id].sort();
    const expected = [...tie, rows[2]!.id, rows[3]!.id, rows[4]!.id];

    const pages = await allPages(caller, { search: tag }, 1);
    expect(pages.flatMap((p) => p.edges.map((e) => e.node.id))).toEqual(expected);
    expect(pages).toHaveLength(5);
  });

  it('search finds a case-insensitive substring of the email or of the name, and % and _ match only themselves', async () => {
    const caller = await admin();
    const tag = uniqueTag();
    const byEmail = await seed.user({ email: `Ada.${tag}@Example.com`, name: 'Ada' });
    const byName = await seed.user({ name: `Grace ${tag.toUpperCase()} Hopper` });
    const literal = await seed.user({ name: `Percent ${tag}%_x` });
    await seed.user({ name: 'Someone else' });

    const ids = async (search: string) => (await listUsers(caller, { filter: { search }, first: 100 })).edges.map((e) => e.node.id);
    expect(await ids(tag.toUpperCase())).toEqual([byEmail.id, byName.id, literal.id]);
    expect(await ids(`ada.${tag}@example`)).toEqual([byEmail.id]);
    expect(await ids(`grace ${tag}`)).toEqual([byName.id]);
    expect(await ids(`${tag}%_`)).toEqual([literal.id]);
    expect(await ids(`${tag}_`)).toEqual([]);
    expect((await listUsers(caller, { filter: { search: `${tag}` }, first: 1 })).totalCount).toBe(3);
  });

  it('filters on disabled: true lists only disabled accounts, false only enabled ones', async () => {
    const caller = await admin();
    const tag = uniqueTag();
    const on = await seed.user({ name: `On ${tag}` });
    const off = await seed.user({ name: `Off ${tag}` });
    expect((await identity.call(DISABLE, { caller, variables: { id: off.id } })).body.errors).toBeUndefined();

    const disabled = await listUsers(caller, { filter: { search: tag, disabled: true } });
    expect(disabled.edges.map((e) => e.node)).toEqual([expect.objectContaining({ id: off.id, disabled: true })]);
    expect(disabled.totalCount).toBe(1);
    const enabled = await listUsers(caller, { filter: { search: tag, disabled: false } });
    expect(enabled.edges.map((e) => e.node)).toEqual([expect.objectContaining({ id: on.id, disabled: false })]);
    expect((await listUsers(caller, { filter: { search: tag } })).totalCount).toBe(2);
  });

  it.each([0, -1, 101])('refuses first: %i with BAD_USER_INPUT', async (first) => {
    const res = await identity.call(USERS, { caller: await admin(), variables: { first } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.extensions?.field).toBe('first');
  });

  it('accepts first: 100 and defaults to 20', async () => {
    const caller = await admin();
    expect(errorCode(await identity.call(USERS, { caller, variables: { first: 100 } }))).toBeUndefined();
    const tag = uniqueTag();
    await insertUsers(Array.from({ length: 21 }, (_, i) => ({ id: randomUUID(), email: `${tag}-${i}@example.com`, createdAt: new Date().toISOString() })));
    const page = await listUsers(caller, { filter: { search: tag } });
    expect(page.edges).toHaveLength(20);
    expect(page.totalCount).toBe(21);
  });

  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  it.each([
    ['not base64url', '!!!'],
    ['not JSON', Buffer.from('{nope').toString('base64url')],
    ['the wrong shape', cursor({ id: randomUUID() })],
    ['a malformed id', cursor(['2001-02-03T04:05:06.123001Z', 'nope'])],
    ['an impossible date', cursor(['2001-02-30T04:05:06.123001Z', randomUUID()])],
    ['an empty string', ''],
    ['far too long', 'A'.repeat(2000)],
  ])('refuses an after cursor that is %s with BAD_USER_INPUT', async (_label, after) => {
    const res = await identity.call(USERS, { caller: await admin(), variables: { after } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.extensions?.field).toBe('after');
  });
});

describe('user', () => {
  it('returns any account by id, null for an unknown id, BAD_USER_INPUT for a malformed one', async () => {
    const caller = await admin();
    const other = await seed.user();
    const found = await identity.call(USER, { caller, variables: { id: other.id } });
    expect(found.body).toEqual({ data: { user: { id: other.id, email: other.email, disabled: false, disabledAt: null } } });
    const missing = await identity.call(USER, { caller, variables: { id: randomUUID() } });
    expect(missing.body).toEqual({ data: { user: null } });
    expect(errorCode(await identity.call(USER, { caller, variables: { id: 'not-a-uuid' } }))).toBe('BAD_USER_INPUT');
  });
});

describe('disableUser', () => {
  it('ends every session of the account: its refresh tokens fail and the gateways are told', async () => {
    const caller = await admin();
    const target = await seed.user();
    const second = await identity.call<{ login: { refreshToken: string } }>(LOGIN, {
      variables: { input: { email: target.email, password: target.password } },
    });
    const published: unknown[] = [];
    const stop = await identity.pubsub.subscribe('identity.sessions.revoked', (m) => published.push(m));

    const res = await identity.call<{ disableUser: { id: string; disabled: boolean; disabledAt: string } }>(DISABLE, {
      caller,
      variables: { id: target.id },
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.disableUser).toMatchObject({ id: target.id, disabled: true });
    expect(Date.now() - new Date(res.body.data!.disableUser.disabledAt).getTime()).toBeLessThan(60_000);

    for (const t of [target.refreshToken, second.body.data!.login.refreshToken]) {
      expect(errorCode(await identity.call(REFRESH, { variables: { t } }))).toBe('INVALID_REFRESH_TOKEN');
    }
    const sessions = await withClient(identity.dbUrl, (c) =>
      c.query<{ id: string; revoked_reason: string | null }>('select id, revoked_reason from identity.sessions where user_id = $1', [target.id]),
    );
    expect(sessions.rows.map((s) => s.revoked_reason)).toEqual(['ACCOUNT_DISABLED', 'ACCOUNT_DISABLED']);
    await expect
      .poll(() => published)
      .toContainEqual({ userId: target.id, sessionIds: expect.arrayContaining(sessions.rows.map((s) => s.id)), reason: 'ACCOUNT_DISABLED' });
    await stop();
  });

  it('threat: a user manager locking out an administrator. Only accounts whose permissions the caller all holds can be disabled', async () => {
    const manager = await admin(); // identity.user.read and identity.user.manage, nothing else
    const superior = await seed.user();
    identity.permissions.set(superior.id, [USER_SCOPES.read, USER_SCOPES.manage, 'authz.grant.manage']);
    const refused = await identity.call(DISABLE, { caller: manager, variables: { id: superior.id } });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.body.errors?.[0]?.extensions?.missing).toEqual(['authz.grant.manage']);
    expect(errorCode(await login(superior.email, superior.password))).toBeUndefined();

    const peer = await seed.user();
    identity.permissions.set(peer.id, [USER_SCOPES.read]);
    const allowed = await identity.call<{ disableUser: { disabled: boolean } }>(DISABLE, { caller: manager, variables: { id: peer.id } });
    expect(allowed.body.data?.disableUser.disabled).toBe(true);
  });

  it('threat: an account-state oracle. A wrong password for a disabled account is INVALID_CREDENTIALS as for any other', async () => {
    const caller = await admin();
    const target = await seed.user();
    await identity.call(DISABLE, { caller, variables: { id: target.id } });

    const wrong = await login(target.email, 'not the password at all');
    const unknown = await login(`nobody-${uniqueTag()}@example.com`, 'not the password at all');
    expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
    expect(wrong.body.errors?.[0]?.message).toBe(unknown.body.errors?.[0]?.message);

    const right = await login(target.email, target.password);
    expect(errorCode(right)).toBe('ACCOUNT_DISABLED');
    expect(right.body.errors?.[0]?.message).toBe('This account is disabled');
    const sessions = await withClient(identity.dbUrl, (c) =>
      c.query('select 1 from identity.sessions where user_id = $1 and revoked_at is null', [target.id]),
    );
    expect(sessions.rowCount).toBe(0);
  });

  it('threat: a disabled account as a password oracle. Its right-password answers still count toward the lock', async () => {
    const caller = await admin();
    const target = await seed.user();
    await identity.call(DISABLE, { caller, variables: { id: target.id } });
    // The harness allows 10 attempts per account; seed.user's own login was cleared by its success.
    for (let i = 0; i < 10; i++) expect(errorCode(await login(target.email, target.password))).toBe('ACCOUNT_DISABLED');
    expect(errorCode(await login(target.email, target.password))).toBe('TOO_MANY_REQUESTS');
  });

  it('threat: a second factor completed after the account was disabled. No session starts', async () => {
    const caller = await admin();
    const target = await seed.user();
    const own = await identity.callerFor(target.accessToken);
    const setup = await identity.call<{ enableTotp: { secret: string } }>('mutation { enableTotp { secret } }', { caller: own });
    const secret = base32Decode(setup.body.data!.enableTotp.secret);
    const step = stepAt(Date.now());
    await identity.call('mutation($c: String!) { confirmTotp(code: $c) }', { caller: own, variables: { c: totpCode(secret, step) } });
    const started = await identity.call<{ login: { mfaChallenge: string } }>(LOGIN, {
      variables: { input: { email: target.email, password: target.password } },
    });
    const challenge = started.body.data!.login.mfaChallenge;
    expect(challenge).toEqual(expect.any(String));

    await identity.call(DISABLE, { caller, variables: { id: target.id } });
    // From now on the password step itself says so: no new challenge.
    expect(errorCode(await login(target.email, target.password))).toBe('ACCOUNT_DISABLED');
    const completed = await identity.call('mutation($i: MfaChallengeInput!) { completeMfaChallenge(input: $i) { accessToken } }', {
      variables: { i: { challenge, code: totpCode(secret, step + 1) } },
    });
    expect(errorCode(completed)).toBe('ACCOUNT_DISABLED');
    const sessions = await withClient(identity.dbUrl, (c) =>
      c.query('select 1 from identity.sessions where user_id = $1 and revoked_at is null', [target.id]),
    );
    expect(sessions.rowCount).toBe(0);
  });

  it('race: a refresh after the account is disabled but before its sessions are ended is refused', async () => {
    const target = await seed.user();
    // The state between disableUser's commit and its ending of the sessions.
    await withClient(identity.dbUrl, (c) => c.query('update identity.users set disabled_at = now() where id = $1', [target.id]));
    expect(errorCode(await identity.call(REFRESH, { variables: { t: target.refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
  });

  it('race: a login whose password was checked just before the account was disabled starts no session', async () => {
    const target = await seed.user();
    const res = await withClient(identity.dbUrl, async (c) => {
      // Play disableUser: hold the row lock it takes while the login checks the password.
      await c.query('begin');
      await c.query('select 1 from identity.users where id = $1 for update', [target.id]);
      const pending = login(target.email, target.password);
      await expect
        .poll(() => withClient(identity.dbUrl, async (w) => (await w.query(waitingOnLock)).rowCount), { timeout: 10_000 })
        .toBeGreaterThan(0);
      await c.query('update identity.users set disabled_at = now() where id = $1', [target.id]);
      await c.query('commit');
      return pending;
    });
    expect(errorCode(res)).toBe('ACCOUNT_DISABLED');
    const live = await withClient(identity.dbUrl, (c) =>
      c.query('select 1 from identity.sessions where user_id = $1 and revoked_at is null', [target.id]),
    );
    expect(live.rowCount).toBe(1); // seed.user's own session, which disableUser would end next
  });

  it('refuses to disable yourself with CANNOT_DISABLE_SELF, leaving your sessions alone', async () => {
    const caller = await admin();
    const res = await identity.call(DISABLE, { caller, variables: { id: caller.userId } });
    expect(errorCode(res)).toBe('CANNOT_DISABLE_SELF');
    const self = await identity.call<{ user: { disabled: boolean } }>(USER, { caller, variables: { id: caller.userId } });
    expect(self.body.data!.user.disabled).toBe(false);
    const live = await withClient(identity.dbUrl, (c) =>
      c.query('select 1 from identity.sessions where id = $1 and revoked_at is null', [caller.sessionId]),
    );
    expect(live.rowCount).toBe(1);
  });

  it('is NOT_FOUND for an unknown id and BAD_USER_INPUT for a malformed one, as is enableUser', async () => {
    const caller = await admin();
    for (const mutation of [DISABLE, ENABLE]) {
      expect(errorCode(await identity.call(mutation, { caller, variables: { id: randomUUID() } }))).toBe('NOT_FOUND');
      expect(errorCode(await identity.call(mutation, { caller, variables: { id: 'nope' } }))).toBe('BAD_USER_INPUT');
    }
  });

  it('keeps the first disabledAt when disabling twice', async () => {
    const caller = await admin();
    const target = await seed.user();
    const first = await identity.call<{ disableUser: { disabledAt: string } }>(DISABLE, { caller, variables: { id: target.id } });
    const second = await identity.call<{ disableUser: { disabledAt: string } }>(DISABLE, { caller, variables: { id: target.id } });
    expect(second.body.data!.disableUser.disabledAt).toBe(first.body.data!.disableUser.disabledAt);
  });
});

describe('enableUser', () => {
  it('lets a disabled account sign in again', async () => {
    const caller = await admin();
    const target = await seed.user();
    await identity.call(DISABLE, { caller, variables: { id: target.id } });
    expect(errorCode(await login(target.email, target.password))).toBe('ACCOUNT_DISABLED');

    const res = await identity.call(ENABLE, { caller, variables: { id: target.id } });
    expect(res.body).toEqual({ data: { enableUser: { id: target.id, disabled: false, disabledAt: null } } });
    const again = await identity.call<{ login: { refreshToken: string } }>(LOGIN, {
      variables: { input: { email: target.email, password: target.password } },
    });
    expect(again.body.errors).toBeUndefined();
    expect((await identity.call(REFRESH, { variables: { t: again.body.data!.login.refreshToken } })).body.errors).toBeUndefined();
    // The sessions ended by disabling stay ended.
    expect(errorCode(await identity.call(REFRESH, { variables: { t: target.refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
  });
});

describe('the schema', () => {
  it('guards every admin field with @requiresScopes from the identity catalogue, for the gateway to enforce', async () => {
    const res = await identity.call<{ _service: { sdl: string } }>('{ _service { sdl } }');
    const sdl = res.body.data!._service.sdl.replace(/\s+/g, ' ');
    const read = '@requiresScopes(scopes: [["identity.user.read"]])';
    const manage = '@requiresScopes(scopes: [["identity.user.manage"]])';
    expect(sdl).toMatch(new RegExp(`users\\([^)]*\\): UserConnection! ${escapeRegExp(read)}`));
    expect(sdl).toContain(`user(id: ID!): User ${read}`);
    expect(sdl).toContain(`disabledAt: DateTime ${read}`);
    expect(sdl).toContain(`disableUser(id: ID!): User! ${manage}`);
    expect(sdl).toContain(`enableUser(id: ID!): User! ${manage}`);
  });
});

describe('defense in depth at the subgraph', () => {
  // Threat: a caller with an internal token but without identity.user.read reads protected entity
  // fields through `_entities`, the way the gateway fetches fields for joins.
  it('refuses protected entity fields asked through _entities, and allows them with the permission', async () => {
    const target = await seed.user();
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id disabledAt } } }';
    const variables = { r: [{ __typename: 'User', id: target.id }] };
    const anonymous = await identity.call(query, { variables });
    expect(errorCode(anonymous)).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    expect(anonymous.body.data ?? null).toBeNull();
    const plain = await identity.call(query, { variables, caller: await identity.callerFor(target.accessToken) });
    expect(errorCode(plain)).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    const allowed = await identity.call(query, { variables, caller: await admin() });
    expect(allowed.body.data).toEqual({ _entities: [{ id: target.id, disabledAt: null }] });
    // Unprotected entity fields stay readable for the gateway's joins.
    const open = await identity.call('query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name } } }', { variables });
    expect(open.body.errors).toBeUndefined();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
