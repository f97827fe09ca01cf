// The second login step: the challenge from login plus exactly one proof.
import { Field, InputType } from 'type-graphql';

@InputType()
export class MfaChallengeInput {
  @Field(() => String)
  challenge!: string;

  @Field(() => String, { nullable: true, description: 'Six digits from the authenticator app.' })
  code?: string | null;

  @Field(() => String, { nullable: true, description: 'One of the recovery codes; each works once.' })
  recoveryCode?: string | null;
}
