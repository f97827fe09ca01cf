// The audit subgraph's permission catalogue, registered with authz at start-up.
import { definePermissions } from '@citadel/kit/permissions';

export const AUDIT_PERMISSIONS = definePermissions({
  module: 'audit',
  permissions: {
    'audit.event.read': 'Read and export the audit trail',
    'audit.chain.verify': 'Verify the audit chain',
    // Every producer's dead-event fields (the kit's outbox-admin) need it; only audit may declare it.
    'audit.outbox.manage': 'List and retry events a service could not deliver to audit',
  },
});

export type AuditPermission = keyof typeof AUDIT_PERMISSIONS.permissions;
