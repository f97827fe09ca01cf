// A role held by a user, globally or inside one resource (`workspace:<id>`).
import { EntitySchema } from '@mikro-orm/postgresql';
import { Role, RoleEntity } from '../roles/role.entity';

export class Grant {
  id!: string;
  userId!: string;
  role!: Role;
  scope!: string;
  grantedBy: string | null = null;
  createdAt: Date = new Date();
}

export const GrantEntity = new EntitySchema<Grant>({
  class: Grant,
  tableName: 'grants',
  properties: {
    id: { type: 'uuid', primary: true },
    userId: { type: 'uuid' },
    role: { kind: 'm:1', entity: () => RoleEntity, deleteRule: 'cascade' },
    scope: { type: 'string', length: 200 },
    grantedBy: { type: 'uuid', nullable: true },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
  },
});
