// TOTP MFA against real PostgreSQL through identity's endpoint. Security cases open with their threat.
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { withClient } from '@citadel/kit/testing/database';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { base32Decode, stepAt, totpCode } from './mfa/totp';
import { useIdentity } from './testing/identity-harness';

const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken mfaRequired mfaChallenge user { id } } }';
const COMPLETE = 'mutation($i: MfaChallengeInput!) { completeMfaChallenge(input: $i) { accessToken mfaRequired user { id } } }';

type LoginPayload = { accessToken: string | null; refreshToken: string | null; mfaRequired: boolean; mfaChallenge: string | null; user: { id: string } | null };

const { identity, seed } = useIdentity();

/** A user with TOTP on: its secret, recovery codes, and the step its confirmation used. */
async function mfaUser() {
  const user = await seed.user();
  const caller = await identity.callerFor(user.accessToken);
  const setup = await identity.call<{ enableTotp: { secret: string; otpauthUri: string } }>('mutation { enableTotp { secret otpauthUri } }', { caller });
  const secret = base32Decode(setup.body.data!.enableTotp.secret);
  const step = stepAt(Date.now());
  const confirmed = await identity.call<{ confirmTotp: string[] }>('mutation($c: String!) { confirmTotp(code: $c) }', {
    caller,
    variables: { c: totpCode(secret, step) },
  });
  return { ...user, caller, secret, step, setup: setup.body.data!.enableTotp, recoveryCodes: confirmed.body.data!.confirmTotp };
}

const login = async (email: string, password: string) =>
  (await identity.call<{ login: LoginPayload }>(LOGIN, { variables: { input: { email, password } } })).body.data!.login;
const complete = (challenge: string, proof: { code?: string; recoveryCode?: string }) =>
  identity.call<{ completeMfaChallenge: { accessToken: string } }>(COMPLETE, { variables: { i: { challenge, ...proof } } });

describe('TOTP set-up', () => {
  it('gives a secret and otpauth URI, turns on with a valid code, returns 10 recovery codes', async () => {
    const user = await mfaUser();
    expect(user.setup.otpauthUri).toMatch(new RegExp(`^otpauth://totp/Citadel%3A${encodeURIComponent(user.email)}\\?secret=${user.setup.secret}`));
    expect(user.recoveryCodes).toHaveLength(10);
    expect(new Set(user.recoveryCodes).size).toBe(10);
  });

  it('threat: a database dump. The secret is sealed and recovery codes are hashed', async () => {
    const user = await mfaUser();
    const rows = await withClient(identity.dbUrl, (c) =>
      c.query<{ secret_sealed: string }>('select secret_sealed from identity.totp_factors where user_id = $1', [user.id]),
    );
    expect(rows.rows[0]!.secret_sealed).toMatch(/^v1\./);
    expect(rows.rows[0]!.secret_sealed).not.toContain(user.setup.secret);
    const codes = await withClient(identity.dbUrl, (c) => c.query<{ code_hash: string }>('select code_hash from identity.recovery_codes where user_id = $1', [user.id]));
    expect(codes.rowCount).toBe(10);
    for (const { code_hash } of codes.rows) expect(user.recoveryCodes.map((c) => c.replace('-', ''))).not.toContain(code_hash);
  });

  it('refuses a wrong confirmation code', async () => {
    const user = await seed.user();
    const caller = await identity.callerFor(user.accessToken);
    await identity.call('mutation { enableTotp { secret } }', { caller });
    expect(errorCode(await identity.call('mutation { confirmTotp(code: "000000") }', { caller }))).toBe('INVALID_MFA_CODE');
  });
});

describe('TOTP settings are guarded', () => {
  it('threat: a stolen long-lived session changing the second factor. A recent sign-in is required', async () => {
    const user = await mfaUser();
    await withClient(identity.dbUrl, (c) => c.query(`update identity.sessions set created_at = now() - interval '11 minutes' where id = $1`, [user.caller.sessionId]));
    const res = await identity.call('mutation($c: String!) { disableTotp(code: $c) }', { caller: user.caller, variables: { c: totpCode(user.secret, user.step + 1) } });
    expect(errorCode(res)).toBe('REAUTHENTICATION_REQUIRED');
  });

  it('threat: a password-only session outliving the new factor. Turning TOTP on ends the other sessions', async () => {
    const user = await seed.user();
    const other = await login(user.email, user.password);
    const caller = await identity.callerFor(user.accessToken);
    const setup = await identity.call<{ enableTotp: { secret: string } }>('mutation { enableTotp { secret } }', { caller });
    const secret = base32Decode(setup.body.data!.enableTotp.secret);
    await identity.call('mutation($c: String!) { confirmTotp(code: $c) }', { caller, variables: { c: totpCode(secret, stepAt(Date.now())) } });
    const REFRESH = 'mutation($t: String!) { refreshToken(token: $t) { accessToken } }';
    expect(errorCode(await identity.call(REFRESH, { variables: { t: other.refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
    expect((await identity.call(REFRESH, { variables: { t: user.refreshToken } })).body.errors).toBeUndefined();
  });
});

describe('MFA login', () => {
  it('a correct password gives only a challenge; the code gives tokens with amr pwd+otp', async () => {
    const user = await mfaUser();
    const first = await login(user.email, user.password);
    expect(first).toMatchObject({ mfaRequired: true, accessToken: null, refreshToken: null, user: null });
    const done = await complete(first.mfaChallenge!, { code: totpCode(user.secret, user.step + 1) });
    expect(done.body.errors).toBeUndefined();
    expect(decodeJwt(done.body.data!.completeMfaChallenge.accessToken).amr).toEqual(['pwd', 'otp']);
    expect(decodeJwt(user.accessToken).amr).toEqual(['pwd']);
  });

  it('threat: a shoulder-surfed code replayed. A code is accepted once per time step', async () => {
    const user = await mfaUser();
    const challenge = (await login(user.email, user.password)).mfaChallenge!;
    // The confirmation already used this step's code.
    expect(errorCode(await complete(challenge, { code: totpCode(user.secret, user.step) }))).toBe('INVALID_MFA_CODE');
    expect((await complete(challenge, { code: totpCode(user.secret, user.step + 1) })).body.errors).toBeUndefined();
    const again = (await login(user.email, user.password)).mfaChallenge!;
    expect(errorCode(await complete(again, { code: totpCode(user.secret, user.step + 1) }))).toBe('INVALID_MFA_CODE');
  });

  it('threat: parallel code guessing. Each challenge allows 5 tries, then is void even for the right code', async () => {
    const user = await mfaUser();
    const challenge = (await login(user.email, user.password)).mfaChallenge!;
    const guesses = await Promise.all(Array.from({ length: 12 }, (_, i) => complete(challenge, { code: String(100000 + i) })));
    const codes = guesses.map(errorCode);
    expect(codes.filter((c) => c === 'INVALID_MFA_CODE')).toHaveLength(5);
    expect(codes.filter((c) => c === 'INVALID_MFA_CHALLENGE')).toHaveLength(7);
    expect(errorCode(await complete(challenge, { code: totpCode(user.secret, user.step + 1) }))).toBe('INVALID_MFA_CHALLENGE');
  });

  it('threat: cycling login and challenge for fresh tries. Code attempts are also limited per user', async () => {
    const user = await mfaUser();
    const results: unknown[] = [];
    for (let round = 0; round < 3; round++) {
      const challenge = (await login(user.email, user.password)).mfaChallenge!;
      for (let i = 0; i < 5 && results.length < 11; i++) results.push(errorCode(await complete(challenge, { code: String(200000 + results.length) })));
    }
    expect(results).toEqual([...Array(10).fill('INVALID_MFA_CODE'), 'TOO_MANY_REQUESTS']);
  });

  it('a recovery code works once, in any letter case', async () => {
    const user = await mfaUser();
    const code = user.recoveryCodes[0]!;
    const first = (await login(user.email, user.password)).mfaChallenge!;
    expect((await complete(first, { recoveryCode: code.toUpperCase() })).body.errors).toBeUndefined();
    const second = (await login(user.email, user.password)).mfaChallenge!;
    expect(errorCode(await complete(second, { recoveryCode: code }))).toBe('INVALID_MFA_CODE');
  });

  it('threat: parallel use of one recovery code. Exactly one succeeds', async () => {
    const user = await mfaUser();
    const challenges = await Promise.all([1, 2, 3].map(async () => (await login(user.email, user.password)).mfaChallenge!));
    const results = await Promise.all(challenges.map((c) => complete(c, { recoveryCode: user.recoveryCodes[1]! })));
    expect(results.filter((r) => !r.body.errors)).toHaveLength(1);
  });

  it('regenerating recovery codes voids the old ones; disabling TOTP restores password-only login', async () => {
    const user = await mfaUser();
    const fresh = await identity.call<{ regenerateRecoveryCodes: string[] }>('mutation($c: String!) { regenerateRecoveryCodes(code: $c) }', {
      caller: user.caller,
      variables: { c: totpCode(user.secret, user.step + 1) },
    });
    expect(fresh.body.data!.regenerateRecoveryCodes).toHaveLength(10);
    const challenge = (await login(user.email, user.password)).mfaChallenge!;
    expect(errorCode(await complete(challenge, { recoveryCode: user.recoveryCodes[0]! }))).toBe('INVALID_MFA_CODE');
    expect((await complete(challenge, { recoveryCode: fresh.body.data!.regenerateRecoveryCodes[0]! })).body.errors).toBeUndefined();

    const other = await mfaUser();
    const off = await identity.call('mutation($c: String!) { disableTotp(code: $c) }', {
      caller: other.caller,
      variables: { c: totpCode(other.secret, other.step + 1) },
    });
    expect(off.body.data).toEqual({ disableTotp: true });
    expect((await login(other.email, other.password)).mfaRequired).toBe(false);
  });
});
