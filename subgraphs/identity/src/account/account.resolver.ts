// Email verification, password reset and change.
import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { requireUser, type IdentityContext } from '../identity.context';
import { UserType } from '../users/user.type';
import { ChangePasswordInput, ResetPasswordInput } from './account.inputs';
import type { AccountService } from './account.service';

@Resolver()
export class AccountResolver {
  constructor(private readonly account: AccountService) {}

  @Mutation(() => UserType, { description: 'Confirms the address with the token from the verification mail.' })
  async verifyEmail(@Arg('token', () => String) token: string, @Ctx() ctx: IdentityContext): Promise<UserType> {
    return UserType.from(await this.account.verifyEmail(ctx.em, token));
  }

  @Mutation(() => Boolean, { description: 'Sends the verification mail again; false when already verified.' })
  resendVerificationEmail(@Ctx() ctx: IdentityContext): Promise<boolean> {
    return this.account.resendVerification(ctx.em, requireUser(ctx));
  }

  @Mutation(() => Boolean, { description: 'Always true, whether or not the address has an account.' })
  requestPasswordReset(@Arg('email', () => String) email: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    return this.account.requestPasswordReset(ctx.em, email);
  }

  @Mutation(() => Boolean, { description: 'Sets a new password from a reset link and ends every session.' })
  async resetPassword(@Arg('input', () => ResetPasswordInput) input: ResetPasswordInput, @Ctx() ctx: IdentityContext): Promise<boolean> {
    await this.account.resetPassword(ctx.em, input.token, input.newPassword, ctx.client.ip);
    return true;
  }

  @Mutation(() => Boolean, { description: 'Changes the password and ends every other session.' })
  async changePassword(@Arg('input', () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() ctx: IdentityContext): Promise<boolean> {
    await this.account.changePassword(ctx.em, requireUser(ctx), ctx.caller.sessionId, input.currentPassword, input.newPassword);
    return true;
  }
}
