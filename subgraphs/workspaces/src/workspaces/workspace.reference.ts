// Workspace as an entity other subgraphs can reference by id: resolved only for a member (null for
// anyone else, as `workspace(id)` answers), batched per request by the visibleWorkspace loader.
import type { WorkspacesContext } from '../workspaces.context';
import { WorkspaceType } from './workspace.type';

export const workspaceReferenceResolvers = {
  Workspace: {
    __resolveReference: async (ref: { id: string }, ctx: WorkspacesContext): Promise<WorkspaceType | null> => {
      const visible = await ctx.loaders.visibleWorkspace.load(ref.id);
      return visible ? WorkspaceType.from(visible.workspace, visible.role) : null;
    },
  },
};
