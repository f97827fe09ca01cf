// Sign in, rotate, sign out.
import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { IdentityContext } from '../identity.context';
import { LoginInput } from '../users/user.inputs';
import { UserType } from '../users/user.type';
import type { AuthResult, AuthService, MfaRequired } from './auth.service';
import { MfaChallengeInput } from '../mfa/mfa.inputs';
import { AuthPayloadType } from './auth.types';

@Resolver()
export class AuthResolver {
  constructor(private readonly auth: AuthService) {}

  @Mutation(() => AuthPayloadType)
  async login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() ctx: IdentityContext): Promise<AuthPayloadType> {
    return toPayload(await this.auth.login(ctx.em, input.email, input.password, ctx.client));
  }

  @Mutation(() => AuthPayloadType, { description: 'Trades a refresh token for new tokens; the old one stops working.' })
  async refreshToken(@Arg('token', () => String) token: string, @Ctx() ctx: IdentityContext): Promise<AuthPayloadType> {
    return toPayload(await this.auth.refresh(ctx.em, token, ctx.client));
  }

  @Mutation(() => AuthPayloadType, { description: 'Second step of an MFA login: a TOTP code or a recovery code.' })
  async completeMfaChallenge(
    @Arg('input', () => MfaChallengeInput) input: MfaChallengeInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<AuthPayloadType> {
    const proof = { code: input.code ?? undefined, recoveryCode: input.recoveryCode ?? undefined };
    return toPayload(await this.auth.completeMfaChallenge(ctx.em, input.challenge, proof, ctx.client));
  }

  @Mutation(() => Boolean, { description: 'Ends the session the refresh token belongs to.' })
  async logout(@Arg('refreshToken', () => String) refreshToken: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    return this.auth.logout(ctx.em, refreshToken);
  }
}

function toPayload(result: AuthResult | MfaRequired): AuthPayloadType {
  if ('mfaChallenge' in result) {
    return Object.assign(new AuthPayloadType(), {
      accessToken: null,
      refreshToken: null,
      expiresIn: null,
      tokenType: 'Bearer',
      user: null,
      mfaRequired: true,
      mfaChallenge: result.mfaChallenge,
    });
  }
  return Object.assign(new AuthPayloadType(), {
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
    expiresIn: result.expiresIn,
    tokenType: 'Bearer',
    user: UserType.from(result.user),
    mfaRequired: false,
    mfaChallenge: null,
  });
}
