// What login and refresh return.
import { Field, Int, ObjectType } from 'type-graphql';
import { UserType } from '../users/user.type';

@ObjectType('AuthPayload')
export class AuthPayloadType {
  @Field(() => String, { description: 'EdDSA JWT; send as `Authorization: Bearer <token>`.' })
  accessToken!: string;

  @Field(() => String, { description: 'Opaque; works once, for `refreshToken` or `logout`.' })
  refreshToken!: string;

  @Field(() => Int, { description: 'Seconds until the access token expires.' })
  expiresIn!: number;

  @Field(() => String)
  tokenType!: string;

  @Field(() => UserType)
  user!: UserType;
}
