// Per-request batching: members of many workspaces, or the caller's view of many workspaces, cost
// one query each however many rows are listed.
import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Page } from '@citadel/kit/connection';
import { listFirstTodosOfWorkspaces, type TodoFilter } from './todos/todo-list';
import type { Todo } from './todos/todo.entity';
import { UUID } from './workspaces/access';
import { MemberEntity, WorkspaceEntity, type Member, type Workspace, type WorkspaceRole } from './workspaces/workspace.entity';

export interface VisibleWorkspace {
  workspace: Workspace;
  /** The caller's role in it. */
  role: WorkspaceRole;
}

export function createLoaders(em: EntityManager, callerId: string | null) {
  const firstTodoPages = new Map<string, DataLoader<string, Page<Todo>>>();
  return {
    /**
     * The first page of todos of many workspaces (Workspace.todos without `after`, e.g. under
     * User.workspaces), one loader per filter and page size. Callers check the role first.
     */
    firstTodos(filter: TodoFilter, first: number): DataLoader<string, Page<Todo>> {
      const key = JSON.stringify([filter.status ?? null, filter.assigneeId ?? null, filter.search ?? null, first]);
      let loader = firstTodoPages.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const pages = await listFirstTodosOfWorkspaces(em, ids, filter, first);
          return ids.map((id) => pages.get(id)!);
        });
        firstTodoPages.set(key, loader);
      }
      return loader;
    },
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
