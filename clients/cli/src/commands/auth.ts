// register, login (with the TOTP step when MFA is on), logout, me.
import { CompleteMfaChallengeDocument, LoginDocument, LogoutDocument, MeDocument, RegisterDocument, type AuthSessionFragment } from '../gql/graphql';
import { ApiError, CliError, EXIT, NotSignedIn, UsageError } from '../errors';
import { print, renderRecord } from '../output';
import { prompt, readStdinLine } from '../prompt';
import { sessionFromPayload } from '../session';
import { stringOption, type Command, type CommandContext } from './command';

const passwordStdin = { type: 'boolean', description: 'read the password from the first line of stdin (for scripts)' } as const;
const email = { type: 'string', valueName: 'email', description: 'account email address' } as const;

async function password(context: CommandContext, confirm: boolean): Promise<string> {
  if (context.options['password-stdin']) return readStdinLine();
  const first = await prompt('Password: ', true);
  if (confirm && (await prompt('Password again: ', true)) !== first) throw new UsageError('the passwords do not match');
  return first;
}

const userRecord = (user: { id: string; email: string; name: string; emailVerified?: boolean }) =>
  renderRecord([
    ['id', user.id],
    ['name', user.name],
    ['email', user.email],
    ...(user.emailVerified === undefined ? [] : ([['verified', user.emailVerified ? 'yes' : 'no']] as [string, string][])),
  ]);

export const register: Command = {
  path: ['register'],
  args: [],
  summary: 'create an account (sign in with `citadel login` afterwards)',
  options: {
    email,
    name: { type: 'string', valueName: 'name', description: 'your display name' },
    'password-stdin': passwordStdin,
  },
  async run(context) {
    const address = stringOption(context.options, 'email') ?? (await prompt('Email: ', false));
    const name = stringOption(context.options, 'name') ?? (await prompt('Name: ', false));
    const secret = await password(context, true);
    const { register: user } = await context.client.request(RegisterDocument, { input: { email: address, name, password: secret } });
    print(context.output, user, (u) => `Registered.\n${userRecord(u)}`);
  },
};

export const login: Command = {
  path: ['login'],
  args: [],
  summary: 'sign in; asks for a TOTP code when two-factor authentication is on',
  options: {
    email,
    'password-stdin': passwordStdin,
    totp: { type: 'string', valueName: 'code', description: 'the six-digit code, instead of being asked for it' },
  },
  async run(context) {
    const address = stringOption(context.options, 'email') ?? (await prompt('Email: ', false));
    const secret = await password(context, false);
    let payload: AuthSessionFragment = (await context.client.request(LoginDocument, { input: { email: address, password: secret } })).login;
    if (payload.mfaRequired) {
      if (!payload.mfaChallenge) throw new CliError('INVALID_MFA_CHALLENGE', 'the gateway asked for a second factor without a challenge', EXIT.API_ERROR);
      const code = stringOption(context.options, 'totp') ?? (await prompt('Authentication code: ', false));
      payload = (await context.client.request(CompleteMfaChallengeDocument, { input: { challenge: payload.mfaChallenge, code: code.trim() } })).completeMfaChallenge;
    }
    const session = sessionFromPayload(payload, Date.now());
    context.store.set(context.client.endpoint, session);
    print(context.output, { user: session.user, expiresAt: session.expiresAt }, ({ user }) => `Signed in to ${context.client.endpoint} as ${user.name} <${user.email}>.\n`);
  },
};

export const logout: Command = {
  path: ['logout'],
  args: [],
  summary: 'end the session on the server and delete the local tokens',
  options: {},
  async run(context) {
    const stored = context.store.get(context.client.endpoint);
    if (!stored) throw new NotSignedIn(context.client.endpoint);
    try {
      await context.client.request(LogoutDocument, { refreshToken: stored.refreshToken });
    } catch (error) {
      // A refresh token the server no longer knows means the session is over already.
      if (!(error instanceof ApiError) || error.code !== 'INVALID_REFRESH_TOKEN') throw error;
    }
    context.store.delete(context.client.endpoint);
    print(context.output, { signedOut: true, user: stored.user }, ({ user }) => `Signed out ${user.email}.\n`);
  },
};

export const me: Command = {
  path: ['me'],
  args: [],
  summary: 'show the signed-in account',
  options: {},
  async run(context) {
    const { me: user } = await context.session.call(MeDocument, {});
    if (!user) throw new NotSignedIn(context.client.endpoint);
    print(context.output, user, userRecord);
  },
};
