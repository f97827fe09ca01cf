// Roles: built-in `admin` (everything) and `user` (every account), and custom ones.
import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { BUILT_IN_ROLES } from '@citadel/kit/permissions';
import { badUserInput, notFound } from '@citadel/kit/errors';
import { builtInRole, cannotDelegate, roleNameTaken, unknownPermissions } from '../authz.errors';
import type { ChangeLog } from '../changes';
import type { EffectivePermissions } from '../effective-permissions';
import type { Outbox } from '@citadel/kit/outbox';
import { RoleEntity, type Role } from './role.entity';

const ROLE_NAME = /^[a-z][a-z0-9-]{1,63}$/;

export interface RoleChanges {
  name?: string | null;
  description?: string | null;
}

/** Who asks: their global permissions bound what they may hand out. */
export interface Actor {
  userId: string | null;
  permissions: readonly string[];
  /** The operator's own tools (`npm run admin`, the development seed): bound by nothing. */
  system?: boolean;
  /** A platform service acting through an internal endpoint (recorded as the event's actor). */
  service?: string;
}

export const SYSTEM_ACTOR: Actor = Object.freeze({ userId: null, permissions: [], system: true });

export class RoleService {
  constructor(
    private readonly changes: ChangeLog,
    private readonly effective: EffectivePermissions,
    private readonly outbox: Outbox,
  ) {}

  list(em: EntityManager): Promise<Role[]> {
    return em.find(RoleEntity, {}, { orderBy: { builtIn: 'desc', name: 'asc' } });
  }

  async get(em: EntityManager, id: string): Promise<Role> {
    const role = await em.findOne(RoleEntity, { id });
    if (!role) throw notFound('No such role');
    return role;
  }

  async create(em: EntityManager, actor: Actor, input: { name: string; description?: string | null; permissions?: string[] | null }): Promise<Role> {
    const name = checkName(input.name);
    const permissions = await this.checkPermissions(em, actor, input.permissions ?? []);
    const role = em.create(RoleEntity, { id: randomUUID(), name, description: input.description?.trim() ?? '', builtIn: false, permissions, createdAt: new Date(), updatedAt: new Date() });
    this.outbox.add(em, { action: 'authz.role.created', target: roleTarget(role), changes: { after: snapshot(role) } });
    await flushNamed(em);
    return role;
  }

  async update(em: EntityManager, id: string, changes: RoleChanges): Promise<Role> {
    const role = await this.get(em, id);
    const before = snapshot(role);
    if (changes.name != null && changes.name !== role.name) {
      if (role.builtIn) throw builtInRole(role.name, 'renamed');
      role.name = checkName(changes.name);
    }
    if (changes.description != null) role.description = changes.description.trim();
    this.outbox.add(em, { action: 'authz.role.updated', target: roleTarget(role), changes: { before, after: snapshot(role) } });
    await flushNamed(em);
    return role;
  }

  async delete(em: EntityManager, id: string): Promise<boolean> {
    const change = await em.transactional(async (tx) => {
      const role = await this.get(tx, id);
      if (role.builtIn) throw builtInRole(role.name, 'deleted');
      this.outbox.add(tx, { action: 'authz.role.deleted', target: roleTarget(role), changes: { before: snapshot(role) } });
      tx.remove(role);
      await tx.flush();
      return this.changes.record(tx, null);
    });
    await this.changes.announce(change);
    return true;
  }

  /** Replaces the role's permission list; every holder's permissions change with it. */
  async setPermissions(em: EntityManager, actor: Actor, id: string, codes: string[]): Promise<Role> {
    const { role, change } = await em.transactional(async (tx) => {
      const role = await this.get(tx, id);
      if (role.name === BUILT_IN_ROLES.admin) throw builtInRole(role.name, 'given a permission list (it holds every permission)');
      const next = await this.checkPermissions(tx, actor, codes, role.permissions);
      this.outbox.add(tx, {
        action: 'authz.role.permissions-changed',
        target: roleTarget(role),
        changes: { before: { permissions: role.permissions }, after: { permissions: next } },
      });
      role.permissions = next;
      await tx.flush();
      return { role, change: await this.changes.record(tx, null) };
    });
    await this.changes.announce(change);
    return role;
  }

  /**
   * Known codes, sorted and deduplicated. Adding a code the actor does not hold is refused, so
   * role management cannot raise the actor's own permissions; codes already on the role may stay.
   */
  private async checkPermissions(em: EntityManager, actor: Actor, codes: string[], current: string[] = []): Promise<string[]> {
    const wanted = [...new Set(codes.map((c) => c.trim()))].sort();
    if (wanted.length > 500) throw badUserInput('A role holds at most 500 permissions');
    const known = new Set(await this.effective.all(em));
    const unknown = wanted.filter((c) => !known.has(c));
    if (unknown.length > 0) throw unknownPermissions(unknown);
    const held = new Set(actor.permissions);
    const missing = actor.system ? [] : wanted.filter((c) => !current.includes(c) && !held.has(c));
    if (missing.length > 0) throw cannotDelegate(missing);
    return wanted;
  }
}

const roleTarget = (role: Role) => ({ type: 'Role', id: role.id });
const snapshot = (role: Role) => ({ name: role.name, description: role.description, permissions: role.permissions });

/** Flushes a new or renamed role; the unique index decides between two takers of one name. */
async function flushNamed(em: EntityManager): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw roleNameTaken();
    throw error;
  }
}

function checkName(name: string): string {
  const value = name.trim().toLowerCase();
  if (!ROLE_NAME.test(value)) throw badUserInput('A role name is 2-64 characters: a-z, 0-9 and -, starting with a letter');
  return value;
}
