// The workspaces subgraph's permission catalogue, registered with authz at start-up. The scoped
// roles are granted in `workspace:<id>` (mirrored from the members table); `user` may create.
import { definePermissions } from '@citadel/kit/permissions';
import type { WorkspaceRole } from './workspaces/workspace.entity';

export const WORKSPACES_PERMISSIONS = definePermissions({
  module: 'workspaces',
  permissions: {
    'workspaces.workspace.create': 'Create workspaces (the creator becomes their owner)',
    'workspaces.workspace.read': 'See a workspace, its members and its name',
    'workspaces.workspace.manage': 'Rename a workspace',
    'workspaces.workspace.delete': 'Delete a workspace with everything in it',
    'workspaces.member.manage': 'Add and remove members of a workspace and change their roles',
    'workspaces.todo.read': "Read a workspace's todos",
    'workspaces.todo.write': 'Create, change, assign, complete and delete todos in a workspace',
  },
  roles: {
    user: ['workspaces.workspace.create'],
    'workspace-owner': [
      'workspaces.workspace.read',
      'workspaces.workspace.manage',
      'workspaces.workspace.delete',
      'workspaces.member.manage',
      'workspaces.todo.read',
      'workspaces.todo.write',
    ],
    'workspace-admin': ['workspaces.workspace.read', 'workspaces.workspace.manage', 'workspaces.member.manage', 'workspaces.todo.read', 'workspaces.todo.write'],
    'workspace-member': ['workspaces.workspace.read', 'workspaces.todo.read', 'workspaces.todo.write'],
    'workspace-viewer': ['workspaces.workspace.read', 'workspaces.todo.read'],
  },
});

export type WorkspacesPermission = keyof typeof WORKSPACES_PERMISSIONS.permissions;

/** The authz role mirroring each membership role, granted in `workspace:<id>`. */
export const SCOPED_ROLE: Record<WorkspaceRole, string> = {
  OWNER: 'workspace-owner',
  ADMIN: 'workspace-admin',
  MEMBER: 'workspace-member',
  VIEWER: 'workspace-viewer',
};

/** What a membership role allows here: the same lists authz holds, read from the catalogue. */
export function roleAllows(role: WorkspaceRole, permission: WorkspacesPermission): boolean {
  return WORKSPACES_PERMISSIONS.roles[SCOPED_ROLE[role]]?.includes(permission) ?? false;
}

export const workspaceScope = (workspaceId: string) => `workspace:${workspaceId}`;
