// workspace create | list | members | add-member.
import { AddMemberDocument, CreateWorkspaceDocument, MyWorkspacesDocument, type MyWorkspacesQuery } from '../gql/graphql';
import { CliError, EXIT, NotSignedIn } from '../errors';
import { print, renderRecord, renderTable } from '../output';
import { stringOption, type Command, type CommandContext } from './command';

const ROLES = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'] as const;
type Role = (typeof ROLES)[number];

type Workspace = NonNullable<MyWorkspacesQuery['me']>['workspaces'][number];

async function myWorkspaces(context: CommandContext): Promise<Workspace[]> {
  const { me } = await context.session.call(MyWorkspacesDocument, {});
  if (!me) throw new NotSignedIn(context.client.endpoint);
  return me.workspaces;
}

export const workspaceCreate: Command = {
  path: ['workspace', 'create'],
  args: ['name'],
  summary: 'create a workspace; you become its owner',
  options: {},
  async run(context) {
    const { createWorkspace } = await context.session.call(CreateWorkspaceDocument, { name: context.args.name! });
    print(context.output, createWorkspace, (w) => renderRecord([['id', w.id], ['name', w.name], ['role', w.myRole]]));
  },
};

export const workspaceList: Command = {
  path: ['workspace', 'list'],
  args: [],
  summary: 'list the workspaces you are a member of',
  options: {},
  async run(context) {
    const workspaces = (await myWorkspaces(context)).map((w) => ({ id: w.id, name: w.name, myRole: w.myRole, memberCount: w.members.length }));
    print(context.output, workspaces, (rows) =>
      renderTable(
        [
          { header: 'id', value: (w) => w.id },
          { header: 'name', value: (w) => w.name },
          { header: 'role', value: (w) => w.myRole },
          { header: 'members', value: (w) => w.memberCount },
        ],
        rows,
      ),
    );
  },
};

export const workspaceMembers: Command = {
  path: ['workspace', 'members'],
  args: ['workspaceId'],
  summary: "list a workspace's members",
  options: {},
  async run(context) {
    const id = context.args.workspaceId!;
    const workspace = (await myWorkspaces(context)).find((w) => w.id === id);
    if (!workspace) throw new CliError('NOT_FOUND', `no workspace ${id} among yours`, EXIT.API_ERROR);
    const members = workspace.members.map((m) => ({ ...m.user, role: m.role, addedAt: m.addedAt }));
    print(context.output, members, (rows) =>
      renderTable(
        [
          { header: 'user id', value: (m) => m.id },
          { header: 'name', value: (m) => m.name },
          { header: 'email', value: (m) => m.email },
          { header: 'role', value: (m) => m.role },
          { header: 'added', value: (m) => m.addedAt },
        ],
        rows,
      ),
    );
  },
};

export const workspaceAddMember: Command = {
  path: ['workspace', 'add-member'],
  args: ['workspaceId', 'email'],
  summary: 'add an account to a workspace by its email address (owners and admins)',
  options: { role: { type: 'string', valueName: 'role', choices: ROLES, description: 'their role (default MEMBER)' } },
  async run(context) {
    const role = (stringOption(context.options, 'role') ?? 'MEMBER') as Role;
    const { addMember } = await context.session.call(AddMemberDocument, { input: { workspaceId: context.args.workspaceId!, email: context.args.email!, role } });
    const member = { ...addMember.user, role: addMember.role, addedAt: addMember.addedAt };
    print(context.output, member, (m) => renderRecord([['user id', m.id], ['name', m.name], ['email', m.email], ['role', m.role]]));
  },
};
