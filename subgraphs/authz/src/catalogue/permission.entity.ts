// A registered permission code. Codes are never deleted: grants and roles may still name them.
import { EntitySchema } from '@mikro-orm/postgresql';

export class Permission {
  code!: string;
  module!: string;
  description!: string;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
}

export const PermissionEntity = new EntitySchema<Permission>({
  class: Permission,
  tableName: 'permissions',
  properties: {
    code: { type: 'string', length: 128, primary: true },
    module: { type: 'string', length: 64 },
    description: { type: 'string', length: 500 },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
    updatedAt: { type: 'Date', defaultRaw: 'now()', onUpdate: () => new Date() },
  },
});
