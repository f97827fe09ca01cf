// A person's whole identity journey through the gateway over HTTP: sign up, confirm the address
// from the mail, turn on TOTP, sign in with it, review sessions, forget the password and reset it,
// after which the old session's access token stops working at the gateway.
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { latestMail, linkToken } from '@citadel/kit/testing/mailbox';
import { base32Decode, stepAt, totpCode } from '../subgraphs/identity/src/mfa/totp';
import { launch, type Platform } from './launcher';

let platform: Platform;
let gql: string;
const email = `journey-${Date.now()}@example.com`;
const password = 'my first long passphrase';

beforeAll(async () => {
  platform = await launch({ env: { LOGIN_FAILURE_DELAY_MS: '0' } });
  gql = `${platform.gatewayUrl}/graphql`;
});
afterAll(async () => {
  await platform?.stop();
});

const mail = async (subject: string) => {
  let found: Awaited<ReturnType<typeof latestMail>>;
  await expect.poll(async () => (found = await latestMail(join(platform.dataDir, 'mail'), email, subject)), { timeout: 5_000 }).toBeDefined();
  return found!;
};
type Login = { accessToken: string | null; refreshToken: string | null; mfaRequired: boolean; mfaChallenge: string | null };
const login = async (pw: string) =>
  (
    await graphqlRequest<{ login: Login }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken mfaRequired mfaChallenge } }', {
      variables: { i: { email, password: pw } },
    })
  ).body.data!.login;

describe('an identity journey through the gateway', () => {
  let token: string;
  let secret: Buffer;
  let step: number;

  it('signs up and confirms the address from the mail', async () => {
    await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: { email, password, name: 'Jo' } } });
    const verified = await graphqlRequest(gql, 'mutation($t: String!) { verifyEmail(token: $t) { emailVerified } }', {
      variables: { t: linkToken(await mail('Confirm your email')) },
    });
    expect(verified.body.data).toEqual({ verifyEmail: { emailVerified: true } });
    token = (await login(password)).accessToken!;
    expect(decodeJwt(token)).toMatchObject({ email_verified: true, amr: ['pwd'] });
  });

  it('turns on TOTP and then signs in with password and code', async () => {
    const setup = await graphqlRequest<{ enableTotp: { secret: string } }>(gql, 'mutation { enableTotp { secret } }', { token });
    secret = base32Decode(setup.body.data!.enableTotp.secret);
    step = stepAt(Date.now());
    const codes = await graphqlRequest<{ confirmTotp: string[] }>(gql, 'mutation($c: String!) { confirmTotp(code: $c) }', {
      token,
      variables: { c: totpCode(secret, step) },
    });
    expect(codes.body.data!.confirmTotp).toHaveLength(10);
    await mail('Two-factor authentication changed');
    const first = await login(password);
    expect(first).toMatchObject({ mfaRequired: true, accessToken: null });
    const done = await graphqlRequest<{ completeMfaChallenge: { accessToken: string } }>(
      gql,
      'mutation($i: MfaChallengeInput!) { completeMfaChallenge(input: $i) { accessToken } }',
      { variables: { i: { challenge: first.mfaChallenge, code: totpCode(secret, step + 1) } } },
    );
    token = done.body.data!.completeMfaChallenge.accessToken;
    expect(decodeJwt(token).amr).toEqual(['pwd', 'otp']);
  });

  it('lists its sessions with the current one marked', async () => {
    const sessions = await graphqlRequest<{ mySessions: { current: boolean; ip: string }[] }>(gql, '{ mySessions { current ip } }', { token });
    expect(sessions.body.data!.mySessions.filter((s) => s.current)).toHaveLength(1);
    expect(sessions.body.data!.mySessions[0]!.ip).toMatch(/127\.0\.0\.1/);
  });

  it('resets a forgotten password from the mail; the old session is refused at the gateway within 5 s', async () => {
    const asked = await graphqlRequest(gql, 'mutation($e: String!) { requestPasswordReset(email: $e) }', { variables: { e: email } });
    expect(asked.body.data).toEqual({ requestPasswordReset: true });
    const reset = await graphqlRequest(gql, 'mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }', {
      variables: { i: { token: linkToken(await mail('Reset your password')), newPassword: 'my second long passphrase' } },
    });
    expect(reset.body.data).toEqual({ resetPassword: true });
    const started = Date.now();
    let refused = false;
    while (!refused && Date.now() - started < 5_000) {
      refused = errorCode(await graphqlRequest(gql, '{ me { id } }', { token })) === 'UNAUTHENTICATED';
      if (!refused) await new Promise((r) => setTimeout(r, 50));
    }
    expect(refused).toBe(true);
    expect((await login('my second long passphrase')).mfaRequired).toBe(true);
  });
});
