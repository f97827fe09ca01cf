// The authz subgraph's schema: the explicit list of resolvers and entities.
import { buildFederatedSchema } from '@citadel/kit/federation';
import { OutboxEntrySchema, type OutboxRelay } from '@citadel/kit/outbox';
import { outboxAdminResolver } from '@citadel/kit/outbox-admin';
import { migrationsDir } from '@citadel/kit/paths';
import type { GraphQLSchema } from 'graphql';
import { authzMigrations } from '../../../migrations/authz';
import type { AccessMap } from './access/access-map';
import { AccessMapResolver } from './access/access-map.resolver';
import { CatalogueResolver } from './catalogue/catalogue.resolver';
import type { CatalogueService } from './catalogue/catalogue.service';
import { PermissionEntity } from './catalogue/permission.entity';
import type { EffectivePermissions } from './effective-permissions';
import { GrantEntity } from './grants/grant.entity';
import { GrantResolver, userReferenceResolvers } from './grants/grant.resolver';
import type { GrantService } from './grants/grant.service';
import { RoleEntity } from './roles/role.entity';
import { RoleResolver } from './roles/role.resolver';
import type { RoleService } from './roles/role.service';

export const SUBGRAPH_NAME = 'authz';

export const database = {
  schema: SUBGRAPH_NAME,
  entities: [PermissionEntity, RoleEntity, GrantEntity, OutboxEntrySchema],
  migrations: authzMigrations,
  migrationsPath: migrationsDir(SUBGRAPH_NAME),
};

export interface AuthzServices {
  catalogue: CatalogueService;
  roles: RoleService;
  grants: GrantService;
  effective: EffectivePermissions;
  accessMap: AccessMap;
  /** authz's outbox relay, for the dead-event admin fields (read when one is used). */
  relay: () => OutboxRelay;
}

export function buildAuthzSchema(services: AuthzServices): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [
      new CatalogueResolver(services.catalogue),
      new RoleResolver(services.roles),
      new GrantResolver(services.grants, services.effective),
      new AccessMapResolver(services.accessMap),
      outboxAdminResolver(SUBGRAPH_NAME, services.relay),
    ],
    referenceResolvers: userReferenceResolvers,
  });
}
