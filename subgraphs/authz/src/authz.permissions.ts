// The authz subgraph's permission catalogue: managing roles and grants is itself guarded.
import { definePermissions } from '@citadel/kit/permissions';

export const AUTHZ_PERMISSIONS = definePermissions({
  module: 'authz',
  permissions: {
    'authz.role.manage': 'Create, change and delete roles and set their permissions',
    'authz.grant.manage': "Grant and revoke roles, and read anyone's roles and permissions",
  },
});

export type AuthzPermission = keyof typeof AUTHZ_PERMISSIONS.permissions;
