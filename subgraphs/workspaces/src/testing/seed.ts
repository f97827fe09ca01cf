// Seed builders for the workspaces integration tests: a workspace with people in given roles.
import { expect } from 'vitest';
import type { Caller } from '@citadel/kit/auth';
import type { WorkspaceRole } from '../workspaces/workspace.entity';
import { userCaller, type WorkspacesHarness } from './workspaces-harness';

export interface SeededWorkspace {
  id: string;
  owner: Caller;
  /** One member per role asked for, e.g. `people.VIEWER`. */
  people: Record<Exclude<WorkspaceRole, 'OWNER'>, Caller>;
}

export function seeder(h: WorkspacesHarness) {
  const ok = <T>(res: { body: { data?: T | null; errors?: unknown[] } }): T => {
    expect(res.body.errors).toBeUndefined();
    return res.body.data!;
  };
  return {
    ok,
    async workspace(name = 'Team'): Promise<SeededWorkspace> {
      const owner = userCaller();
      const created = ok(await h.call<{ createWorkspace: { id: string } }>('mutation($name: String!) { createWorkspace(name: $name) { id } }', { caller: owner, variables: { name } }));
      const id = created.createWorkspace.id;
      const people = { ADMIN: userCaller(), MEMBER: userCaller(), VIEWER: userCaller() };
      for (const [role, caller] of Object.entries(people)) {
        ok(await h.call('mutation($input: AddMemberInput!) { addMember(input: $input) { role } }', { caller: owner, variables: { input: { workspaceId: id, userId: caller.userId, role } } }));
      }
      return { id, owner, people };
    },
    async todo(caller: Caller, input: Record<string, unknown>): Promise<{ id: string; version: number }> {
      const res = await h.call<{ createTodo: { id: string; version: number } }>('mutation($input: CreateTodoInput!) { createTodo(input: $input) { id version } }', { caller, variables: { input } });
      return ok(res).createTodo;
    },
  };
}
