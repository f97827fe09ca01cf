// Per-request batching: every User reference in one request costs one query.
import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from './user.entity';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createUserLoaders(em: EntityManager) {
  return {
    userById: new DataLoader<string, User | null>(async (ids) => {
      // A malformed id cannot match a row; asking Postgres would be an error, not a miss.
      const valid = ids.filter((id) => UUID.test(id));
      const users = valid.length ? await em.find(User, { id: { $in: valid } }) : [];
      const byId = new Map(users.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export type UserLoaders = ReturnType<typeof createUserLoaders>;
