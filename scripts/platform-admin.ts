// Operator actions that work on the databases directly: granting roles by email, and the
// development administrator `npm start` seeds. Used by scripts/admin.ts and scripts/start.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createOrm, type Orm } from '@citadel/kit/db';
import type { Logger } from '@citadel/kit/logger';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ChangeLog } from '../subgraphs/authz/src/changes';
import { EffectivePermissions } from '../subgraphs/authz/src/effective-permissions';
import { GrantService } from '../subgraphs/authz/src/grants/grant.service';
import { SYSTEM_ACTOR } from '../subgraphs/authz/src/roles/role.service';
import { database as authzDatabase } from '../subgraphs/authz/src/schema';
import { PasswordHasher } from '../subgraphs/identity/src/passwords/password-hasher';
import { database as identityDatabase } from '../subgraphs/identity/src/schema';
import { normalizeEmail } from '../subgraphs/identity/src/users/email';
import { User } from '../subgraphs/identity/src/users/user.entity';
import { createPubSub } from '@citadel/kit/pubsub';
import { Outbox } from '@citadel/kit/outbox';

export const DEV_ADMIN_EMAIL = 'admin@citadel.local';

export interface PlatformAdmin {
  /** Grants a role to the account with this email; returns the user id. */
  grant(email: string, role: string, scope?: string): Promise<string>;
  revoke(email: string, role: string, scope?: string): Promise<boolean>;
  /** Creates the account (verified) unless it exists; returns its id and the password if created. */
  ensureAccount(email: string, name: string): Promise<{ id: string; password: string | null }>;
  close(): Promise<void>;
}

export async function openPlatformAdmin(url: string, logger: Logger, redisUrl?: string): Promise<PlatformAdmin> {
  const identity: Orm = await createOrm({ url, logger, limits: { poolMax: 1 }, ...identityDatabase });
  const authz: Orm = await createOrm({ url, logger, limits: { poolMax: 1 }, ...authzDatabase });
  // With Redis, running gateways hear of the change at once; otherwise their poll picks it up.
  const pubsub = createPubSub(redisUrl, logger);
  const changes = new ChangeLog(pubsub, logger);
  // Recorded in authz's outbox (actor: the authz service), delivered to audit by authz's relay.
  const grants = new GrantService(changes, new EffectivePermissions(), new Outbox('authz'));
  const idem = () => identity.em.fork() as EntityManager;
  const azem = () => authz.em.fork() as EntityManager;

  const userId = async (email: string): Promise<string> => {
    const user = await idem().findOne(User, { emailCanonical: normalizeEmail(email).canonical });
    if (!user) throw new Error(`No account with email ${email}`);
    return user.id;
  };
  return {
    async grant(email, roleName, scope) {
      const id = await userId(email);
      const role = await grants.roleNamed(azem(), roleName);
      await grants.grant(azem(), SYSTEM_ACTOR, { userId: id, roleId: role.id, scope: scope ?? null });
      return id;
    },
    async revoke(email, roleName, scope) {
      const id = await userId(email);
      const role = await grants.roleNamed(azem(), roleName);
      return grants.revoke(azem(), SYSTEM_ACTOR, { userId: id, roleId: role.id, scope: scope ?? null });
    },
    async ensureAccount(email, name) {
      const em = idem();
      const { email: address, canonical } = normalizeEmail(email);
      const existing = await em.findOne(User, { emailCanonical: canonical });
      if (existing) return { id: existing.id, password: null };
      const password = randomBytes(18).toString('base64url');
      const user = em.create(User, {
        id: randomUUID(),
        email: address,
        emailCanonical: canonical,
        name,
        passwordHash: await new PasswordHasher(1, 1).hash(password),
        emailVerifiedAt: new Date(),
        createdAt: new Date(),
        updatedAt: new Date(),
      });
      await em.flush();
      return { id: user.id, password };
    },
    async close() {
      await pubsub.close();
      await identity.close();
      await authz.close();
    },
  };
}

/**
 * Development only: an administrator account with a random password, granted `admin`, so a fresh
 * `npm start` can use everything at once. The password is kept in `<data>/admin-credentials.txt`
 * (mode 0600) and printed at each start; it is the initial one, and stays so unless changed.
 */
export async function seedDevelopmentAdmin(url: string, dataDir: string, logger: Logger): Promise<{ email: string; password: string | null }> {
  const admin = await openPlatformAdmin(url, logger);
  const file = join(dataDir, 'admin-credentials.txt');
  try {
    const { password } = await admin.ensureAccount(DEV_ADMIN_EMAIL, 'Administrator');
    if (password) {
      // Only an account the seed itself created is made admin: someone who registered the address
      // first does not become one.
      await admin.grant(DEV_ADMIN_EMAIL, 'admin');
      await writeFile(file, `email: ${DEV_ADMIN_EMAIL}\npassword: ${password}\n`, { mode: 0o600 });
      await chmod(file, 0o600);
      return { email: DEV_ADMIN_EMAIL, password };
    }
    const saved = await readFile(file, 'utf8').catch(() => '');
    if (!saved) logger.warn({ email: DEV_ADMIN_EMAIL }, 'an account with the development admin address exists but was not made by the seed; it was not made admin');
    return { email: DEV_ADMIN_EMAIL, password: /password: (\S+)/.exec(saved)?.[1] ?? null };
  } finally {
    await admin.close();
  }
}
