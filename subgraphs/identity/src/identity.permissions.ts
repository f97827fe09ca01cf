// The identity subgraph's permission catalogue, registered with authz at start-up.
import { definePermissions } from '@citadel/kit/permissions';

export const IDENTITY_PERMISSIONS = definePermissions({
  module: 'identity',
  permissions: {
    'identity.user.read': "List accounts and read any account's profile",
    'identity.user.manage': 'Disable and enable accounts (disabling ends their sessions)',
  },
});

export type IdentityPermission = keyof typeof IDENTITY_PERMISSIONS.permissions;
