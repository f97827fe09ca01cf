// The admin account list as a Relay connection.
import { ObjectType } from 'type-graphql';
import { ConnectionType, EdgeType } from '@citadel/kit/connection';
import { UserType } from './user.type';

@ObjectType('UserEdge')
export class UserEdgeType extends EdgeType(UserType) {}

@ObjectType('UserConnection')
export class UserConnectionType extends ConnectionType(UserEdgeType) {}
