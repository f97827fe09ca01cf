// Per-request batching: members of many workspaces, or the caller's view of many workspaces, cost
// one query each however many rows are listed.
import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { UUID } from './workspaces/access';
import { MemberEntity, WorkspaceEntity, type Member, type Workspace, type WorkspaceRole } from './workspaces/workspace.entity';

export interface VisibleWorkspace {
  workspace: Workspace;
  /** The caller's role in it. */
  role: WorkspaceRole;
}

export function createLoaders(em: EntityManager, callerId: string | null) {
  return {
    membersByWorkspace: new DataLoader<string, Member[]>(async (ids) => {
      const members = await em.find(MemberEntity, { workspaceId: { $in: [...ids] } }, { orderBy: { addedAt: 'asc', userId: 'asc' } });
      return ids.map((id) => members.filter((m) => m.workspaceId === id));
    }),
    /** A live workspace the caller is a member of, with the caller's role; null otherwise. */
    visibleWorkspace: new DataLoader<string, VisibleWorkspace | null>(async (ids) => {
      const valid = ids.filter((id) => UUID.test(id));
      if (!callerId || valid.length === 0) return ids.map(() => null);
      const [workspaces, members] = await Promise.all([
        em.find(WorkspaceEntity, { id: { $in: valid }, deletedAt: null }),
        em.find(MemberEntity, { workspaceId: { $in: valid }, userId: callerId }),
      ]);
      const roles = new Map(members.map((m) => [m.workspaceId, m.role]));
      const byId = new Map(workspaces.map((w) => [w.id, w]));
      return ids.map((id) => {
        const workspace = byId.get(id);
        const role = roles.get(id);
        return workspace && role ? { workspace, role } : null;
      });
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
