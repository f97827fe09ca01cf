// Sign in, rotate, sign out.
import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { IdentityContext } from '../identity.context';
import { LoginInput } from '../users/user.inputs';
import { UserType } from '../users/user.type';
import type { AuthResult, AuthService } from './auth.service';
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

  @Mutation(() => Boolean, { description: 'Ends the session the refresh token belongs to.' })
  async logout(@Arg('refreshToken', () => String) refreshToken: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    return this.auth.logout(ctx.em, refreshToken);
  }
}

function toPayload(result: AuthResult): AuthPayloadType {
  return Object.assign(new AuthPayloadType(), {
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
    expiresIn: result.expiresIn,
    tokenType: 'Bearer',
    user: UserType.from(result.user),
  });
}
