// Workspace use cases: create, rename, delete, and membership with its owner rules. Each change
// stages its event in the same transaction, then the membership is mirrored to authz.
import { randomUUID } from 'node:crypto';
import { badUserInput, notFound } from '@citadel/kit/errors';
import type { Outbox } from '@citadel/kit/outbox';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { GrantMirror } from '../grant-mirror';
import type { LookupUserByEmail } from '../users/user-directory';
import { alreadyMember, forbidden, lastOwner, noAccountWithEmail } from '../workspaces.errors';
import { SCOPED_ROLE, workspaceScope } from '../workspaces.permissions';
import { TodoEntity } from '../todos/todo.entity';
import { snapshot } from '../todos/todo.service';
import { requireAccess, UUID } from './access';
import { MemberEntity, WORKSPACE_ROLES, WorkspaceEntity, type Member, type Workspace, type WorkspaceRole } from './workspace.entity';

export interface MemberInput {
  workspaceId: string;
  userId: string;
  role: WorkspaceRole;
}

/** addMember: exactly one of `userId` and `email`. */
export interface AddMemberRequest {
  workspaceId: string;
  userId?: string | null;
  email?: string | null;
  role: WorkspaceRole;
}

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const MAX_NAME_LENGTH = 100;

export class WorkspaceService {
  constructor(
    private readonly outbox: Outbox,
    private readonly mirror: GrantMirror,
    private readonly lookupUserByEmail: LookupUserByEmail,
  ) {}

  async create(em: EntityManager, actorId: string, name: string): Promise<Workspace> {
    const clean = validName(name);
    const workspace = await em.transactional(async (tx) => {
      const now = new Date();
      const workspace = tx.create(WorkspaceEntity, { id: randomUUID(), name: clean, createdBy: actorId, createdAt: now, updatedAt: now, deletedAt: null });
      // The entities declare no relation, so the unit of work cannot order the member after it.
      await tx.flush();
      tx.create(MemberEntity, { workspaceId: workspace.id, userId: actorId, role: 'OWNER', addedAt: now });
      this.outbox.add(tx, { action: 'workspaces.workspace.created', target: target(workspace.id), changes: { after: { name: clean, ownerId: actorId } } });
      await this.mirror.stage(tx, { grant: [grantOf(workspace.id, actorId, 'OWNER')] });
      return workspace;
    });
    this.mirror.kick();
    return workspace;
  }

  /** Returns the workspace and the actor's role in it. */
  async rename(em: EntityManager, actorId: string, id: string, name: string): Promise<{ workspace: Workspace; role: WorkspaceRole }> {
    const clean = validName(name);
    return em.transactional(async (tx) => {
      const { workspace, member } = await requireAccess(tx, id, actorId, 'workspaces.workspace.manage', { lock: true });
      if (workspace.name === clean) return { workspace, role: member.role };
      this.outbox.add(tx, { action: 'workspaces.workspace.renamed', target: target(id), changes: { before: { name: workspace.name }, after: { name: clean } } });
      workspace.name = clean;
      workspace.updatedAt = new Date();
      return { workspace, role: member.role };
    });
  }

  /** Soft delete: the workspace disappears for everyone, and every membership grant is revoked. */
  async delete(em: EntityManager, actorId: string, id: string): Promise<boolean> {
    await em.transactional(async (tx) => {
      const { workspace } = await requireAccess(tx, id, actorId, 'workspaces.workspace.delete', { lock: true });
      workspace.deletedAt = new Date();
      const members = await tx.find(MemberEntity, { workspaceId: id });
      this.outbox.add(tx, {
        action: 'workspaces.workspace.deleted',
        target: target(id),
        changes: { before: { name: workspace.name, members: members.length }, after: { deleted: true } },
      });
      await this.mirror.stage(tx, { revoke: members.map((m) => grantOf(id, m.userId, m.role)) });
    });
    this.mirror.kick();
    return true;
  }

  /**
   * Admins and owners add members; only an owner makes someone an owner. By email, identity says
   * which account holds the address (NOT_FOUND when none): asked only once the caller is known to
   * manage members here, so nobody else can probe addresses through it.
   */
  async addMember(em: EntityManager, actorId: string, request: AddMemberRequest): Promise<Member> {
    const hasId = request.userId != null;
    const hasEmail = request.email != null;
    if (hasId === hasEmail) throw badUserInput('Give exactly one of `userId` and `email`', { field: hasId ? 'email' : 'userId' });
    let userIdOrEmail = request.userId ?? '';
    if (hasEmail) {
      const email = request.email!.trim();
      if (email.length > 254 || !EMAIL_SHAPE.test(email)) throw badUserInput('`email` is not a valid email address', { field: 'email' });
      await requireAccess(em, request.workspaceId, actorId, 'workspaces.member.manage');
      const found = await this.lookupUserByEmail(email);
      if (!found) throw noAccountWithEmail();
      userIdOrEmail = found;
    }
    const input: MemberInput = { workspaceId: request.workspaceId, userId: userIdOrEmail, role: request.role };
    const { userId, role } = validMemberInput(input);
    const member = await em.transactional(async (tx) => {
      const { member: actor } = await requireAccess(tx, input.workspaceId, actorId, 'workspaces.member.manage', { lock: true });
      if (role === 'OWNER' && actor.role !== 'OWNER') throw forbidden('Only an owner can make someone an owner');
      if (await tx.findOne(MemberEntity, { workspaceId: input.workspaceId, userId })) throw alreadyMember();
      const member = tx.create(MemberEntity, { workspaceId: input.workspaceId, userId, role, addedAt: new Date() });
      this.outbox.add(tx, { action: 'workspaces.member.added', target: target(input.workspaceId), changes: { after: { userId, role } } });
      await this.mirror.stage(tx, { grant: [grantOf(input.workspaceId, userId, role)] });
      return member;
    });
    this.mirror.kick();
    return member;
  }

  /** Only an owner changes an owner's role or makes an owner; the last owner stays one. */
  async changeMemberRole(em: EntityManager, actorId: string, input: MemberInput): Promise<Member> {
    const { userId, role } = validMemberInput(input);
    const { member, before } = await em.transactional(async (tx) => {
      const { member: actor } = await requireAccess(tx, input.workspaceId, actorId, 'workspaces.member.manage', { lock: true });
      const member = await findMember(tx, input.workspaceId, userId);
      const before = member.role;
      if (before === role) return { member, before };
      if ((role === 'OWNER' || before === 'OWNER') && actor.role !== 'OWNER') throw forbidden("Only an owner can change an owner's role or make an owner");
      if (before === 'OWNER') await assertAnotherOwner(tx, input.workspaceId);
      member.role = role;
      this.outbox.add(tx, { action: 'workspaces.member.role-changed', target: target(input.workspaceId), changes: { before: { userId, role: before }, after: { userId, role } } });
      await this.mirror.stage(tx, { revoke: [grantOf(input.workspaceId, userId, before)], grant: [grantOf(input.workspaceId, userId, role)] });
      return { member, before };
    });
    if (before !== role) this.mirror.kick();
    return member;
  }

  /** Admins remove members and admins, owners anyone; the last owner cannot be removed. */
  async removeMember(em: EntityManager, actorId: string, workspaceId: string, userId: string): Promise<boolean> {
    if (!UUID.test(userId)) throw badUserInput('`userId` is not a valid user id', { field: 'userId' });
    await em.transactional(async (tx) => {
      const { member: actor } = await requireAccess(tx, workspaceId, actorId, 'workspaces.member.manage', { lock: true });
      const member = await findMember(tx, workspaceId, userId);
      if (member.role === 'OWNER' && actor.role !== 'OWNER') throw forbidden('Only an owner can remove an owner');
      await this.remove(tx, member, 'workspaces.member.removed');
    });
    this.mirror.kick();
    return true;
  }

  /** Any member may leave, except the last owner. */
  async leave(em: EntityManager, actorId: string, workspaceId: string): Promise<boolean> {
    await em.transactional(async (tx) => {
      const { member } = await requireAccess(tx, workspaceId, actorId, 'workspaces.workspace.read', { lock: true });
      await this.remove(tx, member, 'workspaces.member.left');
    });
    this.mirror.kick();
    return true;
  }

  /** The workspace if the caller may read it; NOT_FOUND otherwise, whether or not it exists. */
  async get(em: EntityManager, actorId: string, id: string): Promise<{ workspace: Workspace; role: WorkspaceRole }> {
    const { workspace, member } = await requireAccess(em, id, actorId, 'workspaces.workspace.read');
    return { workspace, role: member.role };
  }

  /** The user's live workspaces with their role in each, oldest first. */
  async forUser(em: EntityManager, userId: string): Promise<{ workspace: Workspace; role: WorkspaceRole }[]> {
    const members = await em.find(MemberEntity, { userId }, { orderBy: { addedAt: 'asc' } });
    if (members.length === 0) return [];
    const workspaces = await em.find(WorkspaceEntity, { id: { $in: members.map((m) => m.workspaceId) }, deletedAt: null }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    const roles = new Map(members.map((m) => [m.workspaceId, m.role]));
    return workspaces.map((workspace) => ({ workspace, role: roles.get(workspace.id)! }));
  }

  /**
   * Removes a membership (the workspace row is locked by the caller) and unassigns the user's todos,
   * each as an `assigned` todo change with a new version, so live subscribers see it.
   */
  private async remove(tx: EntityManager, member: Member, action: string): Promise<void> {
    if (member.role === 'OWNER') await assertAnotherOwner(tx, member.workspaceId);
    tx.remove(member);
    this.outbox.add(tx, { action, target: target(member.workspaceId), changes: { before: { userId: member.userId, role: member.role } } });
    // A todo assigned to someone who cannot see it any more would be assigned to no one in practice.
    const todos = await tx.find(
      TodoEntity,
      { workspaceId: member.workspaceId, assigneeId: member.userId },
      { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    const now = new Date();
    for (const todo of todos) {
      const before = snapshot(todo);
      Object.assign(todo, { assigneeId: null, version: todo.version + 1, updatedAt: now });
      this.outbox.add(tx, { action: 'workspaces.todo.assigned', target: { type: 'Todo', id: todo.id }, changes: { before, after: snapshot(todo) } });
    }
    await this.mirror.stage(tx, { revoke: [grantOf(member.workspaceId, member.userId, member.role)] });
  }
}

async function findMember(em: EntityManager, workspaceId: string, userId: string): Promise<Member> {
  const member = await em.findOne(MemberEntity, { workspaceId, userId });
  if (!member) throw notFound('This user is not a member of the workspace');
  return member;
}

/** Callers hold the workspace row lock, so the count cannot change before they commit. */
async function assertAnotherOwner(em: EntityManager, workspaceId: string): Promise<void> {
  const owners = await em.count(MemberEntity, { workspaceId, role: 'OWNER' });
  if (owners <= 1) throw lastOwner();
}

function validName(name: string): string {
  const clean = name.trim().normalize('NFC');
  if (clean.length === 0 || clean.length > MAX_NAME_LENGTH) throw badUserInput(`\`name\` must be 1 to ${MAX_NAME_LENGTH} characters`, { field: 'name' });
  return clean;
}

function validMemberInput(input: MemberInput): { userId: string; role: WorkspaceRole } {
  if (!UUID.test(input.userId)) throw badUserInput('`userId` is not a valid user id', { field: 'userId' });
  if (!WORKSPACE_ROLES.includes(input.role)) throw badUserInput('`role` is not a workspace role', { field: 'role' });
  return { userId: input.userId.toLowerCase(), role: input.role };
}

const target = (id: string) => ({ type: 'Workspace', id });

const grantOf = (workspaceId: string, userId: string, role: WorkspaceRole) => ({ userId, role: SCOPED_ROLE[role], scope: workspaceScope(workspaceId) });

