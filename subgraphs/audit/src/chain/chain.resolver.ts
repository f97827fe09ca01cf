// verifyAuditChain (guarded by `audit.chain.verify`).
import { requiresScopes } from '@citadel/kit/permissions';
import { Arg, Ctx, Directive, Int, Query, Resolver } from 'type-graphql';
import type { AuditContext } from '../audit.context';
import type { AuditPermission } from '../audit.permissions';
import type { ChainVerifier } from './chain-verifier';
import { ChainVerificationType } from './chain-verification.type';

@Resolver()
export class ChainResolver {
  constructor(private readonly verifier: ChainVerifier) {}

  @Query(() => ChainVerificationType, {
    description: 'Recomputes the hash chain over [fromSeq, toSeq] (default: every event kept) and checks the checkpoints in it.',
  })
  @Directive(requiresScopes<AuditPermission>('audit.chain.verify'))
  async verifyAuditChain(
    @Arg('fromSeq', () => Int, { nullable: true }) fromSeq: number | null,
    @Arg('toSeq', () => Int, { nullable: true }) toSeq: number | null,
    @Ctx() ctx: AuditContext,
  ): Promise<ChainVerificationType> {
    return ChainVerificationType.from(await this.verifier.verify(ctx.em, { fromSeq, toSeq }));
  }
}
