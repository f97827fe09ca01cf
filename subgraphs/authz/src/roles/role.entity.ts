// A named set of permission codes. `admin` holds every permission whatever its list says.
import { ArrayType, EntitySchema } from '@mikro-orm/postgresql';

export class Role {
  id!: string;
  name!: string;
  description = '';
  builtIn = false;
  permissions: string[] = [];
  /** The module whose catalogue declared it: that service may grant it in its own scopes. */
  module: string | null = null;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
}

export const RoleEntity = new EntitySchema<Role>({
  class: Role,
  tableName: 'roles',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string', length: 64, unique: 'roles_name_key' },
    description: { type: 'string', length: 500, default: '' },
    builtIn: { type: 'boolean', default: false },
    permissions: { type: ArrayType, columnType: 'text[]', default: '{}' },
    module: { type: 'string', length: 64, nullable: true },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
    updatedAt: { type: 'Date', defaultRaw: 'now()', onUpdate: () => new Date() },
  },
});
