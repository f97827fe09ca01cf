// Identity's audit events (issue 5) against real PostgreSQL: each security-relevant change writes
// its event to the outbox in the change's own transaction, and the relay delivers it (the harness
// collects what it delivered in `identity.events`). Security cases open with their threat.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import type { Caller } from '@citadel/kit/auth';
import { withClient } from '@citadel/kit/testing/database';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { latestMail, linkToken } from '@citadel/kit/testing/mailbox';
import { base32Decode, stepAt, totpCode } from './mfa/totp';
import { useIdentity } from './testing/identity-harness';
import { USER_SCOPES } from './users/user.scopes';

const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { id } }';
const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken mfaRequired mfaChallenge } }';
const COMPLETE = 'mutation($i: MfaChallengeInput!) { completeMfaChallenge(input: $i) { accessToken refreshToken } }';
const REFRESH = 'mutation($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }';
const LOGOUT = 'mutation($t: String!) { logout(refreshToken: $t) }';
const VERIFY = 'mutation($t: String!) { verifyEmail(token: $t) { id emailVerified } }';
const REQUEST_RESET = 'mutation($e: String!) { requestPasswordReset(email: $e) }';
const RESET = 'mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }';
const CHANGE = 'mutation($i: ChangePasswordInput!) { changePassword(input: $i) }';
const DISABLE = 'mutation($id: ID!) { disableUser(id: $id) { id disabled } }';
const ENABLE = 'mutation($id: ID!) { enableUser(id: $id) { id disabled } }';

type AuthPayload = { accessToken: string | null; refreshToken: string | null; mfaRequired: boolean; mfaChallenge: string | null };

const { identity, seed } = useIdentity();

/** Every password, token, secret and code a test used: none may appear in any event. */
const secrets = new Set<string>();
const keep = (...values: (string | null | undefined)[]) => {
  for (const v of values) if (v) secrets.add(v);
};

let requests = 0;
/** Calls identity with a request id of its own, so a test finds exactly the events its call made. */
async function send<T = Record<string, unknown>>(query: string, options: { caller?: Caller; variables?: Record<string, unknown> } = {}) {
  const requestId = `audit-test-${++requests}-${randomBytes(4).toString('hex')}`;
  const res = await identity.call<T>(query, { ...options, headers: { 'x-request-id': requestId } });
  expect(res.headers.get('x-request-id')).toBe(requestId);
  return Object.assign(res, { requestId });
}

/** The event `action` made by the request, once delivered; checks what every event carries. */
async function eventOf(action: string, requestId: string, match: (e: AuditEventInput) => boolean = () => true): Promise<AuditEventInput> {
  const event = await identity.waitForEvent(action, (e) => e.requestId === requestId && match(e));
  expect(event).toMatchObject({ service: 'identity', ip: '203.0.113.7', userAgent: 'harness/1.0', requestId });
  return event;
}

/** The events of a request. Ends with a marker request whose event is delivered: anything committed before it is too. */
async function allEventsOf(requestId: string): Promise<AuditEventInput[]> {
  const marker = await send(LOGIN, { variables: { input: { email: `marker-${randomBytes(4).toString('hex')}@example.com`, password: 'not a password here' } } });
  await eventOf('identity.login.failed', marker.requestId);
  return identity.events.filter((e) => e.requestId === requestId);
}

const anonymous = { type: 'anonymous', id: null, sessionId: null };

async function user(overrides: { email?: string; password?: string } = {}) {
  const u = await seed.user(overrides);
  keep(u.password, u.accessToken, u.refreshToken);
  return { ...u, caller: await identity.callerFor(u.accessToken) };
}

async function login(email: string, password: string) {
  keep(password);
  const res = await send<{ login: AuthPayload }>(LOGIN, { variables: { input: { email, password } } });
  const payload = res.body.data?.login;
  keep(payload?.accessToken, payload?.refreshToken, payload?.mfaChallenge);
  return res;
}

/** A user with TOTP on (its confirmation is `enabled`): the secret, recovery codes, and the step used. */
async function mfaUser() {
  const u = await user();
  const setup = await send<{ enableTotp: { secret: string; otpauthUri: string } }>('mutation { enableTotp { secret otpauthUri } }', { caller: u.caller });
  const { secret: base32, otpauthUri } = setup.body.data!.enableTotp;
  keep(base32, otpauthUri);
  const secret = base32Decode(base32);
  keep(secret.toString('hex'), secret.toString('base64'));
  const step = stepAt(Date.now());
  const enabled = await send<{ confirmTotp: string[] }>('mutation($c: String!) { confirmTotp(code: $c) }', { caller: u.caller, variables: { c: totpCode(secret, step) } });
  const recoveryCodes = enabled.body.data!.confirmTotp;
  keep(...recoveryCodes, ...recoveryCodes.map((c) => c.replace(/-/g, '')));
  return { ...u, secret, step, recoveryCodes, enabled };
}

async function admin(): Promise<Caller & { userId: string }> {
  const u = await user();
  return { ...u.caller, userId: u.id, permissions: [USER_SCOPES.read, USER_SCOPES.manage] };
}

const mailTo = async (to: string, subject: string) => {
  let found: Awaited<ReturnType<typeof latestMail>>;
  await expect.poll(async () => (found = await latestMail(identity.mailboxDir, to, subject)), { timeout: 5_000 }).toBeDefined();
  const token = linkToken(found!);
  keep(token);
  return token;
};

describe('sign-up and verification', () => {
  it('register records identity.user.registered with the address and name, nothing secret', async () => {
    const email = `new-${randomBytes(4).toString('hex')}@example.com`;
    keep('a registration passphrase');
    const res = await send<{ register: { id: string } }>(REGISTER, { variables: { input: { email, password: 'a registration passphrase', name: 'New Person' } } });
    const id = res.body.data!.register.id;
    const event = await eventOf('identity.user.registered', res.requestId);
    expect(event).toMatchObject({ actor: anonymous, target: { type: 'User', id }, outcome: 'success', reason: null });
    expect(event.changes).toEqual({ before: null, after: { email, name: 'New Person' } });
  });

  it('threat: enumeration by sign-up. A taken address answers as new, but audit records the refusal against the owner', async () => {
    const owner = await user();
    keep('another passphrase entirely');
    const res = await send<{ register: { id: string } }>(REGISTER, { variables: { input: { email: owner.email, password: 'another passphrase entirely', name: 'Someone' } } });
    expect(res.body.errors).toBeUndefined();
    const event = await eventOf('identity.user.registration-refused', res.requestId);
    expect(event).toMatchObject({ actor: anonymous, target: { type: 'User', id: owner.id }, outcome: 'failure', reason: 'EMAIL_TAKEN' });
    expect(identity.events.filter((e) => e.requestId === res.requestId).map((e) => e.action)).toEqual(['identity.user.registration-refused']);
  });

  it('a refused sign-up (weak password) records nothing', async () => {
    const res = await send(REGISTER, { variables: { input: { email: `weak-${randomBytes(4).toString('hex')}@example.com`, password: 'short', name: 'Weak' } } });
    expect(errorCode(res)).toBe('WEAK_PASSWORD');
    expect(await allEventsOf(res.requestId)).toEqual([]);
  });

  it('threat: two sign-ups racing for one address. The loser rolls back, its registered event with it', async () => {
    const email = `race-${randomBytes(4).toString('hex')}@example.com`;
    keep('a racing passphrase');
    const results = await Promise.all(
      Array.from({ length: 4 }, () => send(REGISTER, { variables: { input: { email, password: 'a racing passphrase', name: 'Racer' } } })),
    );
    for (const r of results) expect(r.body.errors).toBeUndefined();
    const ids = results.map((r) => r.requestId);
    await allEventsOf(ids[0]!);
    const made = identity.events.filter((e) => e.requestId !== null && ids.includes(e.requestId));
    expect(made.filter((e) => e.action === 'identity.user.registered')).toHaveLength(1);
    expect(made.filter((e) => e.action === 'identity.user.registration-refused')).toHaveLength(3);
    const [row] = (await withClient(identity.dbUrl, (c) => c.query<{ id: string }>('select id from identity.users where email = $1', [email]))).rows;
    expect(made.find((e) => e.action === 'identity.user.registered')!.target).toEqual({ type: 'User', id: row!.id });
  });

  it('verifying the address records identity.email.verified', async () => {
    const u = await user();
    const token = await mailTo(u.email, 'Confirm your email');
    const res = await send(VERIFY, { variables: { t: token } });
    expect(res.body.errors).toBeUndefined();
    const event = await eventOf('identity.email.verified', res.requestId);
    expect(event).toMatchObject({ target: { type: 'User', id: u.id }, outcome: 'success' });
  });
});

describe('sign-in', () => {
  it('a login records identity.login.succeeded by the user in the new session, on that session', async () => {
    const u = await user();
    const res = await login(u.email, u.password);
    const caller = await identity.callerFor(res.body.data!.login.accessToken!);
    const event = await eventOf('identity.login.succeeded', res.requestId);
    expect(event).toMatchObject({
      actor: { type: 'user', id: u.id, sessionId: caller.sessionId },
      target: { type: 'Session', id: caller.sessionId },
      outcome: 'success',
      reason: null,
      changes: { before: null, after: { amr: 'pwd' } },
    });
  });

  it('threat: password guessing. A wrong password is recorded against the account, anonymously', async () => {
    const u = await user();
    const res = await login(u.email, 'a wrong passphrase guess');
    expect(errorCode(res)).toBe('INVALID_CREDENTIALS');
    const event = await eventOf('identity.login.failed', res.requestId);
    expect(event).toMatchObject({ actor: anonymous, target: { type: 'User', id: u.id }, outcome: 'failure', reason: 'INVALID_CREDENTIALS' });
  });

  it('threat: credential stuffing with unknown addresses. An unknown email is recorded too, with no user', async () => {
    const res = await login(`nobody-${randomBytes(4).toString('hex')}@example.com`, 'a stuffed passphrase');
    expect(errorCode(res)).toBe('INVALID_CREDENTIALS');
    const event = await eventOf('identity.login.failed', res.requestId);
    expect(event).toMatchObject({ actor: anonymous, target: { type: 'User', id: null }, outcome: 'failure', reason: 'INVALID_CREDENTIALS' });
    expect(JSON.stringify(event)).not.toContain('nobody-');
  });

  it('a locked account records TOO_MANY_REQUESTS', async () => {
    const u = await user();
    for (let i = 0; i < 10; i++) expect(errorCode(await login(u.email, `wrong guess ${i}!`))).toBe('INVALID_CREDENTIALS');
    const locked = await login(u.email, u.password);
    expect(errorCode(locked)).toBe('TOO_MANY_REQUESTS');
    const event = await eventOf('identity.login.failed', locked.requestId);
    expect(event).toMatchObject({ actor: anonymous, target: { type: 'User', id: u.id }, outcome: 'failure', reason: 'TOO_MANY_REQUESTS' });
  });

  it('refresh-token reuse records identity.refresh-token.reuse-detected on the ended session', async () => {
    const u = await user();
    const rotated = await send<{ refreshToken: { accessToken: string; refreshToken: string } }>(REFRESH, { variables: { t: u.refreshToken } });
    keep(rotated.body.data!.refreshToken.accessToken, rotated.body.data!.refreshToken.refreshToken);
    await withClient(identity.dbUrl, (c) =>
      c.query(`update identity.refresh_tokens set used_at = now() - interval '11 seconds' where session_id = $1 and used_at is not null`, [u.caller.sessionId]),
    );
    const reused = await send(REFRESH, { variables: { t: u.refreshToken } });
    expect(errorCode(reused)).toBe('INVALID_REFRESH_TOKEN');
    const event = await eventOf('identity.refresh-token.reuse-detected', reused.requestId);
    expect(event).toMatchObject({
      actor: anonymous,
      target: { type: 'Session', id: u.caller.sessionId },
      outcome: 'failure',
      reason: 'REFRESH_TOKEN_REUSED',
      changes: { after: { userId: u.id, sessionIds: [u.caller.sessionId] } },
    });
  });
});

describe('second factor', () => {
  it('turning TOTP on records identity.mfa.enabled; the secret and codes stay out', async () => {
    const u = await mfaUser();
    const event = await eventOf('identity.mfa.enabled', u.enabled.requestId);
    expect(event).toMatchObject({ actor: { type: 'user', id: u.id, sessionId: u.caller.sessionId }, target: { type: 'User', id: u.id }, outcome: 'success' });
  });

  it('an MFA login: the challenge starts, a wrong code fails, the right one is identity.login.succeeded with pwd otp', async () => {
    const u = await mfaUser();
    const first = await login(u.email, u.password);
    expect(first.body.data!.login.mfaRequired).toBe(true);
    const started = await eventOf('identity.mfa-challenge.started', first.requestId);
    expect(started).toMatchObject({ actor: anonymous, target: { type: 'User', id: u.id }, outcome: 'success' });
    expect(identity.events.filter((e) => e.requestId === first.requestId && e.action === 'identity.login.succeeded')).toEqual([]);

    const challenge = first.body.data!.login.mfaChallenge!;
    const wrong = await send(COMPLETE, { variables: { i: { challenge, code: totpCode(u.secret, u.step) } } }); // already used
    expect(errorCode(wrong)).toBe('INVALID_MFA_CODE');
    expect(await eventOf('identity.mfa-challenge.failed', wrong.requestId)).toMatchObject({
      actor: anonymous,
      target: { type: 'User', id: u.id },
      outcome: 'failure',
      reason: 'INVALID_MFA_CODE',
    });

    const done = await send<{ completeMfaChallenge: { accessToken: string; refreshToken: string } }>(COMPLETE, {
      variables: { i: { challenge, code: totpCode(u.secret, u.step + 1) } },
    });
    keep(done.body.data!.completeMfaChallenge.accessToken, done.body.data!.completeMfaChallenge.refreshToken);
    const caller = await identity.callerFor(done.body.data!.completeMfaChallenge.accessToken);
    expect(await eventOf('identity.login.succeeded', done.requestId)).toMatchObject({
      actor: { type: 'user', id: u.id, sessionId: caller.sessionId },
      target: { type: 'Session', id: caller.sessionId },
      outcome: 'success',
      changes: { after: { amr: 'pwd otp', secondFactor: 'totp' } },
    });

    const byRecovery = (await login(u.email, u.password)).body.data!.login.mfaChallenge!;
    const recovered = await send<{ completeMfaChallenge: { accessToken: string; refreshToken: string } }>(COMPLETE, {
      variables: { i: { challenge: byRecovery, recoveryCode: u.recoveryCodes[0] } },
    });
    keep(recovered.body.data!.completeMfaChallenge.accessToken, recovered.body.data!.completeMfaChallenge.refreshToken);
    expect(await eventOf('identity.login.succeeded', recovered.requestId)).toMatchObject({
      changes: { after: { amr: 'pwd otp', secondFactor: 'recovery' } },
    });
  });

  it('an unknown challenge records INVALID_MFA_CHALLENGE with no user', async () => {
    const bogus = randomBytes(32).toString('base64url');
    keep(bogus);
    const res = await send(COMPLETE, { variables: { i: { challenge: bogus, code: '123456' } } });
    expect(errorCode(res)).toBe('INVALID_MFA_CHALLENGE');
    expect(await eventOf('identity.mfa-challenge.failed', res.requestId)).toMatchObject({
      actor: anonymous,
      target: { type: 'User', id: null },
      outcome: 'failure',
      reason: 'INVALID_MFA_CHALLENGE',
    });
  });

  it('threat: cycling challenges for more guesses. The locked try records TOO_MANY_REQUESTS', async () => {
    const u = await mfaUser();
    let last: Awaited<ReturnType<typeof send>> | undefined;
    let tries = 0;
    for (let round = 0; round < 3 && tries < 11; round++) {
      const challenge = (await login(u.email, u.password)).body.data!.login.mfaChallenge!;
      for (let i = 0; i < 5 && tries < 11; i++, tries++) last = await send(COMPLETE, { variables: { i: { challenge, code: String(300000 + tries) } } });
    }
    expect(errorCode(last!)).toBe('TOO_MANY_REQUESTS');
    expect(await eventOf('identity.mfa-challenge.failed', last!.requestId)).toMatchObject({
      target: { type: 'User', id: u.id },
      outcome: 'failure',
      reason: 'TOO_MANY_REQUESTS',
    });
  });

  it('regenerating recovery codes and turning TOTP off are recorded', async () => {
    const u = await mfaUser();
    const fresh = await send<{ regenerateRecoveryCodes: string[] }>('mutation($c: String!) { regenerateRecoveryCodes(code: $c) }', {
      caller: u.caller,
      variables: { c: totpCode(u.secret, u.step + 1) },
    });
    const codes = fresh.body.data!.regenerateRecoveryCodes;
    keep(...codes, ...codes.map((c) => c.replace(/-/g, '')));
    expect(await eventOf('identity.mfa.recovery-codes-regenerated', fresh.requestId)).toMatchObject({
      actor: { type: 'user', id: u.id, sessionId: u.caller.sessionId },
      target: { type: 'User', id: u.id },
      outcome: 'success',
      changes: { after: { count: 10 } },
    });

    const other = await mfaUser();
    const off = await send('mutation($c: String!) { disableTotp(code: $c) }', { caller: other.caller, variables: { c: totpCode(other.secret, other.step + 1) } });
    expect(off.body.data).toEqual({ disableTotp: true });
    expect(await eventOf('identity.mfa.disabled', off.requestId)).toMatchObject({
      actor: { type: 'user', id: other.id, sessionId: other.caller.sessionId },
      target: { type: 'User', id: other.id },
      outcome: 'success',
    });
  });

  it('a wrong code for turning TOTP off records no identity.mfa.disabled', async () => {
    const u = await mfaUser();
    const off = await send('mutation($c: String!) { disableTotp(code: $c) }', { caller: u.caller, variables: { c: '000000' } });
    expect(errorCode(off)).toBe('INVALID_MFA_CODE');
    expect((await allEventsOf(off.requestId)).map((e) => e.action)).toEqual([]);
  });
});

describe('sessions', () => {
  it('logout records identity.session.logged-out by the session owner', async () => {
    const u = await user();
    const res = await send(LOGOUT, { variables: { t: u.refreshToken } });
    expect(res.body.data).toEqual({ logout: true });
    expect(await eventOf('identity.session.logged-out', res.requestId)).toMatchObject({
      actor: { type: 'user', id: u.id, sessionId: u.caller.sessionId },
      target: { type: 'Session', id: u.caller.sessionId },
      outcome: 'success',
      changes: { after: { userId: u.id, sessionIds: [u.caller.sessionId] } },
    });
  });

  it('revokeSession and logoutEverywhere each record one identity.session.revoked with the sessions ended', async () => {
    const u = await user();
    const second = await identity.callerFor((await login(u.email, u.password)).body.data!.login.accessToken!);
    const third = await identity.callerFor((await login(u.email, u.password)).body.data!.login.accessToken!);

    const one = await send('mutation($id: ID!) { revokeSession(id: $id) }', { caller: u.caller, variables: { id: second.sessionId } });
    expect(one.body.data).toEqual({ revokeSession: true });
    expect(await eventOf('identity.session.revoked', one.requestId)).toMatchObject({
      actor: { type: 'user', id: u.id, sessionId: u.caller.sessionId },
      target: { type: 'Session', id: second.sessionId },
      outcome: 'success',
      reason: 'REVOKED',
      changes: { after: { userId: u.id, sessionIds: [second.sessionId] } },
    });

    const all = await send<{ logoutEverywhere: number }>('mutation { logoutEverywhere }', { caller: u.caller });
    expect(all.body.data).toEqual({ logoutEverywhere: 2 });
    const event = await eventOf('identity.session.revoked', all.requestId);
    expect(event).toMatchObject({ actor: { type: 'user', id: u.id }, target: { type: 'User', id: u.id }, reason: 'LOGOUT_EVERYWHERE' });
    expect([...(event.changes!.after!.sessionIds as string[])].sort()).toEqual([u.caller.sessionId, third.sessionId].sort());
    expect((await allEventsOf(all.requestId)).map((e) => e.action)).toEqual(['identity.session.revoked']);
  });
});

describe('account administration', () => {
  it('disabling records identity.user.disabled and the ended sessions; sign-in then records ACCOUNT_DISABLED; enabling is recorded', async () => {
    const boss = await admin();
    const u = await user();
    const off = await send(DISABLE, { caller: boss, variables: { id: u.id } });
    expect(off.body.data).toEqual({ disableUser: { id: u.id, disabled: true } });
    expect(await eventOf('identity.user.disabled', off.requestId)).toMatchObject({
      actor: { type: 'user', id: boss.userId, sessionId: boss.sessionId },
      target: { type: 'User', id: u.id },
      outcome: 'success',
      changes: { before: { disabled: false }, after: { disabled: true } },
    });
    expect(await eventOf('identity.session.revoked', off.requestId)).toMatchObject({
      actor: { type: 'user', id: boss.userId },
      target: { type: 'User', id: u.id },
      reason: 'ACCOUNT_DISABLED',
      changes: { after: { userId: u.id, sessionIds: [u.caller.sessionId] } },
    });

    const refused = await login(u.email, u.password);
    expect(errorCode(refused)).toBe('ACCOUNT_DISABLED');
    expect(await eventOf('identity.login.failed', refused.requestId)).toMatchObject({
      actor: anonymous,
      target: { type: 'User', id: u.id },
      outcome: 'failure',
      reason: 'ACCOUNT_DISABLED',
    });

    const again = await send(DISABLE, { caller: boss, variables: { id: u.id } });
    expect(again.body.errors).toBeUndefined();
    expect(await allEventsOf(again.requestId)).toEqual([]); // nothing changed, nothing recorded

    const on = await send(ENABLE, { caller: boss, variables: { id: u.id } });
    expect(on.body.data).toEqual({ enableUser: { id: u.id, disabled: false } });
    expect(await eventOf('identity.user.enabled', on.requestId)).toMatchObject({
      actor: { type: 'user', id: boss.userId, sessionId: boss.sessionId },
      target: { type: 'User', id: u.id },
      changes: { before: { disabled: true }, after: { disabled: false } },
    });
  });
});

describe('passwords', () => {
  it('threat: a stolen session guessing the current password. A wrong one records change-failed and no change', async () => {
    const u = await user();
    keep('a new passphrase for this', 'a wrong current passphrase');
    const res = await send(CHANGE, { caller: u.caller, variables: { i: { currentPassword: 'a wrong current passphrase', newPassword: 'a new passphrase for this' } } });
    expect(errorCode(res)).toBe('INVALID_CREDENTIALS');
    expect(await eventOf('identity.password.change-failed', res.requestId)).toMatchObject({
      actor: { type: 'user', id: u.id, sessionId: u.caller.sessionId },
      target: { type: 'User', id: u.id },
      outcome: 'failure',
      reason: 'INVALID_CREDENTIALS',
    });
    expect((await allEventsOf(res.requestId)).map((e) => e.action)).toEqual(['identity.password.change-failed']);
    expect(identity.events.some((e) => e.action === 'identity.password.changed' && e.target?.id === u.id)).toBe(false);
  });

  it('changing the password records identity.password.changed and the other sessions ended', async () => {
    const u = await user();
    const other = await identity.callerFor((await login(u.email, u.password)).body.data!.login.accessToken!);
    keep('a changed passphrase here');
    const res = await send(CHANGE, { caller: u.caller, variables: { i: { currentPassword: u.password, newPassword: 'a changed passphrase here' } } });
    expect(res.body.errors).toBeUndefined();
    expect(await eventOf('identity.password.changed', res.requestId)).toMatchObject({
      actor: { type: 'user', id: u.id, sessionId: u.caller.sessionId },
      target: { type: 'User', id: u.id },
      outcome: 'success',
      changes: null,
    });
    expect(await eventOf('identity.session.revoked', res.requestId)).toMatchObject({
      reason: 'PASSWORD_CHANGED',
      changes: { after: { userId: u.id, sessionIds: [other.sessionId] } },
    });
  });

  it('threat: enumeration by reset requests. Only a known address records reset-requested; the answers are the same', async () => {
    const u = await user();
    const unknown = await send(REQUEST_RESET, { variables: { e: `nobody-${randomBytes(4).toString('hex')}@example.com` } });
    const known = await send(REQUEST_RESET, { variables: { e: u.email } });
    expect(unknown.body).toEqual(known.body);
    expect(await eventOf('identity.password.reset-requested', known.requestId)).toMatchObject({
      actor: anonymous,
      target: { type: 'User', id: u.id },
      outcome: 'success',
    });
    expect(await allEventsOf(unknown.requestId)).toEqual([]);
  });

  it('a refused new password rolls the reset back with its event; the reset then records password.reset, email.verified and the ended sessions', async () => {
    const u = await user();
    await send(REQUEST_RESET, { variables: { e: u.email } });
    const token = await mailTo(u.email, 'Reset your password');
    const weak = await send(RESET, { variables: { i: { token, newPassword: 'short' } } });
    expect(errorCode(weak)).toBe('WEAK_PASSWORD');
    expect(await allEventsOf(weak.requestId)).toEqual([]);

    keep('a reset passphrase now');
    const res = await send(RESET, { variables: { i: { token, newPassword: 'a reset passphrase now' } } });
    expect(res.body.data).toEqual({ resetPassword: true });
    expect(await eventOf('identity.password.reset', res.requestId)).toMatchObject({ actor: anonymous, target: { type: 'User', id: u.id }, outcome: 'success' });
    expect(await eventOf('identity.email.verified', res.requestId)).toMatchObject({ target: { type: 'User', id: u.id } });
    expect(await eventOf('identity.session.revoked', res.requestId)).toMatchObject({
      target: { type: 'User', id: u.id },
      reason: 'PASSWORD_RESET',
      changes: { after: { userId: u.id, sessionIds: [u.caller.sessionId] } },
    });
  });
});

describe('delivery and redaction', () => {
  it('every staged event is delivered and removed from the outbox', async () => {
    await expect
      .poll(async () => (await withClient(identity.dbUrl, (c) => c.query<{ n: number }>('select count(*)::int as n from identity.outbox'))).rows[0]!.n, {
        timeout: 5_000,
      })
      .toBe(0);
    expect(identity.events.length).toBeGreaterThan(50);
    expect(new Set(identity.events.map((e) => e.id)).size).toBe(identity.events.length);
  });

  it('threat: audit as a leak. No password, token, TOTP secret or recovery code used above appears in any event', () => {
    expect(secrets.size).toBeGreaterThan(100);
    const all = JSON.stringify(identity.events);
    const leaked = [...secrets].filter((s) => all.includes(s));
    expect(leaked).toEqual([]);
  });
});
