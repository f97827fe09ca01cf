// A workspace and its members. The members table is the source of truth for who may do what here;
// authz holds a mirror of it as scoped grants (`workspace-owner` in `workspace:<id>`).
import { EntitySchema } from '@mikro-orm/postgresql';

export const WORKSPACE_ROLES = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'] as const;
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];

export class Workspace {
  id!: string;
  name!: string;
  createdBy!: string;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
  deletedAt: Date | null = null;
}

export const WorkspaceEntity = new EntitySchema<Workspace>({
  class: Workspace,
  tableName: 'workspaces',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string', length: 100 },
    createdBy: { type: 'uuid' },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
    updatedAt: { type: 'Date', defaultRaw: 'now()' },
    deletedAt: { type: 'Date', nullable: true },
  },
});

export class Member {
  workspaceId!: string;
  userId!: string;
  role!: WorkspaceRole;
  addedAt: Date = new Date();
}

export const MemberEntity = new EntitySchema<Member>({
  class: Member,
  tableName: 'members',
  properties: {
    workspaceId: { type: 'uuid', primary: true },
    userId: { type: 'uuid', primary: true },
    role: { type: 'string', length: 16 },
    addedAt: { type: 'Date', defaultRaw: 'now()' },
  },
});
