// TOTP set-up and upkeep for the signed-in user.
import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { TotpSetupType } from '../auth/auth.types';
import { requireUser, type IdentityContext } from '../identity.context';
import type { MfaService, SignedIn } from './mfa.service';

const signedIn = (ctx: IdentityContext): SignedIn => ({ userId: requireUser(ctx), sessionId: ctx.caller.sessionId });

@Resolver()
export class MfaResolver {
  constructor(private readonly mfa: MfaService) {}

  @Mutation(() => TotpSetupType, { description: 'Starts TOTP set-up: add the secret to an app, then confirmTotp. Needs a sign-in in the last 10 minutes.' })
  async enableTotp(@Ctx() ctx: IdentityContext): Promise<TotpSetupType> {
    return Object.assign(new TotpSetupType(), await this.mfa.enable(ctx.em, signedIn(ctx)));
  }

  @Mutation(() => [String], { description: 'Turns TOTP on; returns 10 recovery codes, shown this once. Ends your other sessions.' })
  confirmTotp(@Arg('code', () => String) code: string, @Ctx() ctx: IdentityContext): Promise<string[]> {
    return this.mfa.confirm(ctx.em, signedIn(ctx), code);
  }

  @Mutation(() => Boolean)
  async disableTotp(@Arg('code', () => String) code: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    await this.mfa.disable(ctx.em, signedIn(ctx), code);
    return true;
  }

  @Mutation(() => [String], { description: 'Replaces every recovery code; the old ones stop working.' })
  regenerateRecoveryCodes(@Arg('code', () => String) code: string, @Ctx() ctx: IdentityContext): Promise<string[]> {
    return this.mfa.regenerateRecoveryCodes(ctx.em, signedIn(ctx), code);
  }
}
