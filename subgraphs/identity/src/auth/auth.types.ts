// What login and refresh return.
import { Field, Int, ObjectType } from 'type-graphql';
import { UserType } from '../users/user.type';

@ObjectType('AuthPayload', { description: 'Tokens, or (mfaRequired) a challenge for completeMfaChallenge.' })
export class AuthPayloadType {
  @Field(() => String, { nullable: true, description: 'EdDSA JWT; send as `Authorization: Bearer <token>`.' })
  accessToken!: string | null;

  @Field(() => String, { nullable: true, description: 'Opaque; works once, for `refreshToken` or `logout`.' })
  refreshToken!: string | null;

  @Field(() => Int, { nullable: true, description: 'Seconds until the access token expires.' })
  expiresIn!: number | null;

  @Field(() => String)
  tokenType!: string;

  @Field(() => UserType, { nullable: true, description: 'Null until every factor is proven.' })
  user!: UserType | null;

  @Field(() => Boolean, { description: 'A second factor is needed: no tokens yet.' })
  mfaRequired!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass to completeMfaChallenge within 5 minutes.' })
  mfaChallenge!: string | null;
}

@ObjectType('TotpSetup')
export class TotpSetupType {
  @Field(() => String, { description: 'Base32; shown once. Prefer scanning the URI.' })
  secret!: string;

  @Field(() => String)
  otpauthUri!: string;
}
