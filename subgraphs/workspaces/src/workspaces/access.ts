// Object-level checks from the members table: a non-member learns nothing (NOT_FOUND), a member
// whose role lacks the permission is FORBIDDEN.
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { roleAllows, type WorkspacesPermission } from '../workspaces.permissions';
import { forbidden, workspaceNotFound } from '../workspaces.errors';
import { MemberEntity, WorkspaceEntity, type Member, type Workspace } from './workspace.entity';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Access {
  workspace: Workspace;
  member: Member;
}

/**
 * The live workspace and the caller's membership, or NOT_FOUND; FORBIDDEN when the role lacks the
 * permission. `lock` takes the workspace row FOR UPDATE (inside a transaction), which serializes
 * membership changes per workspace, so two cannot each remove "another" owner.
 */
export async function requireAccess(
  em: EntityManager,
  workspaceId: string,
  userId: string,
  permission: WorkspacesPermission,
  options: { lock?: boolean } = {},
): Promise<Access> {
  if (!UUID.test(workspaceId)) throw workspaceNotFound();
  const workspace = await em.findOne(
    WorkspaceEntity,
    { id: workspaceId, deletedAt: null },
    options.lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {},
  );
  if (!workspace) throw workspaceNotFound();
  const member = await em.findOne(MemberEntity, { workspaceId, userId });
  if (!member) throw workspaceNotFound();
  if (!roleAllows(member.role, permission)) throw forbidden(`Your role in this workspace (${member.role}) does not allow ${permission}`);
  return { workspace, member };
}
