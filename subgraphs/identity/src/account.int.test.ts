// Email verification, password reset and change against real PostgreSQL, mail read from the
// development mailbox. Security cases open with their threat.
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { withClient } from '@citadel/kit/testing/database';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { latestMail, linkToken, readMailbox } from '@citadel/kit/testing/mailbox';
import { useIdentity } from './testing/identity-harness';

const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }';
const REFRESH = 'mutation($t: String!) { refreshToken(token: $t) { accessToken } }';
const VERIFY = 'mutation($t: String!) { verifyEmail(token: $t) { id emailVerified } }';
const REQUEST_RESET = 'mutation($e: String!) { requestPasswordReset(email: $e) }';
const RESET = 'mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }';
const CHANGE = 'mutation($i: ChangePasswordInput!) { changePassword(input: $i) }';

const { identity, seed } = useIdentity();

const asCaller = (accessToken: string) => identity.callerFor(accessToken);
const mailTo = async (to: string, subject: string) => {
  let found: Awaited<ReturnType<typeof latestMail>>;
  await expect.poll(async () => (found = await latestMail(identity.mailboxDir, to, subject)), { timeout: 5_000 }).toBeDefined();
  return found!;
};
const login = (email: string, password: string) => identity.call<{ login: { accessToken: string; refreshToken: string } }>(LOGIN, { variables: { input: { email, password } } });

describe('email verification', () => {
  it('register mails a single-use link; verifying it marks the account and the next access token', async () => {
    const user = await seed.user();
    expect(decodeJwt(user.accessToken).email_verified).toBe(false);
    const token = linkToken(await mailTo(user.email, 'Confirm your email'));
    const verified = await identity.call(VERIFY, { variables: { t: token } });
    expect(verified.body.data).toEqual({ verifyEmail: { id: user.id, emailVerified: true } });
    expect(errorCode(await identity.call(VERIFY, { variables: { t: token } }))).toBe('INVALID_VERIFICATION_TOKEN');
    const again = await login(user.email, user.password);
    expect(decodeJwt(again.body.data!.login.accessToken).email_verified).toBe(true);
  });

  it('threat: an old leaked link. A verification token past 24 hours is refused', async () => {
    const user = await seed.user();
    const token = linkToken(await mailTo(user.email, 'Confirm your email'));
    await withClient(identity.dbUrl, (c) => c.query(`update identity.email_tokens set expires_at = now() - interval '1 second' where user_id = $1`, [user.id]));
    expect(errorCode(await identity.call(VERIFY, { variables: { t: token } }))).toBe('INVALID_VERIFICATION_TOKEN');
  });

  it('threat: mail bombing. Resending is limited per hour', async () => {
    const user = await seed.user();
    const caller = await asCaller(user.accessToken);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(errorCode(await identity.call('mutation { resendVerificationEmail }', { caller })) ?? 'OK');
    expect(results).toEqual(['OK', 'OK', 'OK', 'TOO_MANY_REQUESTS']);
  });

  it('stores verification tokens only hashed', async () => {
    const user = await seed.user();
    const token = linkToken(await mailTo(user.email, 'Confirm your email'));
    const raw = await withClient(identity.dbUrl, (c) => c.query('select 1 from identity.email_tokens where token_hash = $1', [token]));
    expect(raw.rowCount).toBe(0);
  });
});

describe('sign-up with a taken address (the default: REGISTRATION_REVEALS_TAKEN_EMAIL=false)', () => {
  it('threat: account enumeration at sign-up. The answer looks like a new account; the owner is told by mail', async () => {
    const owner = await seed.user();
    const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { email name emailVerified } }';
    const taken = await identity.call(REGISTER, { variables: { i: { email: owner.email.toUpperCase(), password: 'some other passphrase', name: 'Mallory' } } });
    const fresh = await identity.call(REGISTER, { variables: { i: { email: `fresh-${owner.email}`, password: 'some other passphrase', name: 'Mallory' } } });
    expect(taken.body.errors).toBeUndefined();
    expect(Object.keys((taken.body.data as { register: object }).register)).toEqual(Object.keys((fresh.body.data as { register: object }).register));
    expect((taken.body.data as { register: { emailVerified: boolean } }).register.emailVerified).toBe(false);
    await mailTo(owner.email, 'Someone tried to sign up');
    // The account itself is untouched.
    expect((await login(owner.email, owner.password)).body.errors).toBeUndefined();
    expect(errorCode(await login(owner.email, 'some other passphrase'))).toBe('INVALID_CREDENTIALS');
  });
});

describe('new sign-in notice', () => {
  it('mails the owner about a sign-in from an address no session came from before, once', async () => {
    const user = await seed.user(); // first sign-in, from the harness address: not news
    const fromElsewhere = () =>
      identity.call(LOGIN, { variables: { input: { email: user.email, password: user.password } }, headers: { 'x-citadel-client-ip': '198.51.100.23' } });
    await fromElsewhere();
    const notice = await mailTo(user.email, 'New sign-in');
    expect(notice.text).toContain('198.51.100.23');
    await fromElsewhere();
    await new Promise((r) => setTimeout(r, 300));
    expect((await readMailbox(identity.mailboxDir)).filter((m) => m.to === user.email && m.subject.includes('New sign-in'))).toHaveLength(1);
  });
});

describe('password reset', () => {
  it('threat: account enumeration. Known and unknown addresses get the same answer; only the known one gets mail', async () => {
    const user = await seed.user();
    const known = await identity.call(REQUEST_RESET, { variables: { e: user.email } });
    const unknown = await identity.call(REQUEST_RESET, { variables: { e: 'no-such-person@example.com' } });
    const malformed = await identity.call(REQUEST_RESET, { variables: { e: 'not an email' } });
    expect(known.body).toEqual(unknown.body);
    expect(malformed.body).toEqual(known.body);
    await mailTo(user.email, 'Reset your password');
    expect((await readMailbox(identity.mailboxDir)).some((m) => m.to === 'no-such-person@example.com')).toBe(false);
  });

  it('sets the new password, ends every session, and works only once', async () => {
    const user = await seed.user();
    await identity.call(REQUEST_RESET, { variables: { e: user.email } });
    const token = linkToken(await mailTo(user.email, 'Reset your password'));
    const reset = await identity.call(RESET, { variables: { i: { token, newPassword: 'a brand new passphrase' } } });
    expect(reset.body.data).toEqual({ resetPassword: true });
    expect(errorCode(await identity.call(REFRESH, { variables: { t: user.refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
    expect(errorCode(await login(user.email, user.password))).toBe('INVALID_CREDENTIALS');
    expect((await login(user.email, 'a brand new passphrase')).body.errors).toBeUndefined();
    const reuse = await identity.call(RESET, { variables: { i: { token, newPassword: 'yet another passphrase' } } });
    expect(errorCode(reuse)).toBe('INVALID_RESET_TOKEN');
  });

  it('keeps the link usable when the new password is refused', async () => {
    const user = await seed.user();
    await identity.call(REQUEST_RESET, { variables: { e: user.email } });
    const token = linkToken(await mailTo(user.email, 'Reset your password'));
    expect(errorCode(await identity.call(RESET, { variables: { i: { token, newPassword: user.email } } }))).toBe('WEAK_PASSWORD');
    expect((await identity.call(RESET, { variables: { i: { token, newPassword: 'a good passphrase now' } } })).body.errors).toBeUndefined();
  });

  it('threat: a reset link raced in parallel. Exactly one use succeeds', async () => {
    const user = await seed.user();
    await identity.call(REQUEST_RESET, { variables: { e: user.email } });
    const token = linkToken(await mailTo(user.email, 'Reset your password'));
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => identity.call(RESET, { variables: { i: { token, newPassword: `parallel passphrase ${n}` } } })),
    );
    expect(results.filter((r) => !r.body.errors)).toHaveLength(1);
  });

  it('threat: an old leaked reset link. A token past one hour is refused', async () => {
    const user = await seed.user();
    await identity.call(REQUEST_RESET, { variables: { e: user.email } });
    const token = linkToken(await mailTo(user.email, 'Reset your password'));
    await withClient(identity.dbUrl, (c) =>
      c.query(`update identity.email_tokens set expires_at = now() - interval '1 second' where user_id = $1 and purpose = 'RESET_PASSWORD'`, [user.id]),
    );
    expect(errorCode(await identity.call(RESET, { variables: { i: { token, newPassword: 'too late passphrase' } } }))).toBe('INVALID_RESET_TOKEN');
  });

  it('threat: a verification token used as a reset token. Tokens are bound to their purpose', async () => {
    const user = await seed.user();
    const verifyToken = linkToken(await mailTo(user.email, 'Confirm your email'));
    expect(errorCode(await identity.call(RESET, { variables: { i: { token: verifyToken, newPassword: 'hijack passphrase' } } }))).toBe(
      'INVALID_RESET_TOKEN',
    );
  });
});

describe('password change', () => {
  it('needs the current password, then ends every other session and keeps this one', async () => {
    const user = await seed.user();
    const other = await login(user.email, user.password);
    const caller = await asCaller(user.accessToken);
    const wrong = await identity.call(CHANGE, { caller, variables: { i: { currentPassword: 'not it at all', newPassword: 'changed passphrase' } } });
    expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
    const ok = await identity.call(CHANGE, { caller, variables: { i: { currentPassword: user.password, newPassword: 'changed passphrase' } } });
    expect(ok.body.data).toEqual({ changePassword: true });
    expect(errorCode(await identity.call(REFRESH, { variables: { t: other.body.data!.login.refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
    expect((await identity.call(REFRESH, { variables: { t: user.refreshToken } })).body.errors).toBeUndefined();
  });
});
