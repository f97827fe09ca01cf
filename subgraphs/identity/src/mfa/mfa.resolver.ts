// TOTP set-up and upkeep for the signed-in user.
import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { TotpSetupType } from '../auth/auth.types';
import { requireUser, type IdentityContext } from '../identity.context';
import type { MfaService } from './mfa.service';

@Resolver()
export class MfaResolver {
  constructor(private readonly mfa: MfaService) {}

  @Mutation(() => TotpSetupType, { description: 'Starts TOTP set-up: add the secret to an app, then confirmTotp.' })
  async enableTotp(@Ctx() ctx: IdentityContext): Promise<TotpSetupType> {
    return Object.assign(new TotpSetupType(), await this.mfa.enable(ctx.em, requireUser(ctx)));
  }

  @Mutation(() => [String], { description: 'Turns TOTP on; returns 10 recovery codes, shown this once.' })
  confirmTotp(@Arg('code', () => String) code: string, @Ctx() ctx: IdentityContext): Promise<string[]> {
    return this.mfa.confirm(ctx.em, requireUser(ctx), code);
  }

  @Mutation(() => Boolean)
  async disableTotp(@Arg('code', () => String) code: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    await this.mfa.disable(ctx.em, requireUser(ctx), code);
    return true;
  }

  @Mutation(() => [String], { description: 'Replaces every recovery code; the old ones stop working.' })
  regenerateRecoveryCodes(@Arg('code', () => String) code: string, @Ctx() ctx: IdentityContext): Promise<string[]> {
    return this.mfa.regenerateRecoveryCodes(ctx.em, requireUser(ctx), code);
  }
}
