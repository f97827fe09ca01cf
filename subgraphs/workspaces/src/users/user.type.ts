// identity's account, as workspaces knows it: by id only. Names and emails come from identity
// through federation.
import { Directive, Field, ID, ObjectType } from 'type-graphql';

@ObjectType('User')
@Directive('@key(fields: "id")')
export class UserRef {
  @Field(() => ID)
  id!: string;

  static of(id: string): UserRef {
    return Object.assign(new UserRef(), { id });
  }
}

export const userReferenceResolvers = {
  User: {
    __resolveReference: (ref: { id: string }) => UserRef.of(ref.id),
  },
};
