// The answer of verifyAuditChain.
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CHAIN_BREAKS, type ChainVerification } from './chain-verifier';

export const ChainBreakReason = CHAIN_BREAKS;
registerEnumType(ChainBreakReason, {
  name: 'ChainBreakReason',
  valuesConfig: {
    HASH_MISMATCH: { description: "An event's hash is not sha256(prev hash || canonical event), or does not link to the previous event." },
    SEQUENCE_GAP: { description: 'A sequence number is missing.' },
    BAD_CHECKPOINT_SIGNATURE: { description: "A checkpoint's signature is not audit's." },
    CHECKPOINT_MISMATCH: { description: "A signed checkpoint names another hash than the event's." },
  },
});

@ObjectType('ChainVerification')
export class ChainVerificationType {
  @Field(() => Boolean)
  ok!: boolean;

  @Field(() => Int, { description: 'Events whose hash was recomputed.' })
  checked!: number;

  @Field(() => Int)
  checkpointsChecked!: number;

  @Field(() => Int, { nullable: true, description: 'The range verified, clamped to the events kept; null when empty.' })
  fromSeq!: number | null;

  @Field(() => Int, { nullable: true })
  toSeq!: number | null;

  @Field(() => Int, { nullable: true, description: 'The first sequence number where the chain does not hold.' })
  firstBrokenSeq!: number | null;

  @Field(() => ChainBreakReason, { nullable: true })
  reason!: keyof typeof CHAIN_BREAKS | null;

  @Field(() => String, { nullable: true })
  detail!: string | null;

  static from(result: ChainVerification): ChainVerificationType {
    return Object.assign(new ChainVerificationType(), result);
  }
}
