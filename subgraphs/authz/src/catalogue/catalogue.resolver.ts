// The permission catalogue, readable by any signed-in user (it says what exists, not who has it).
import { Arg, Ctx, Directive, Query, Resolver } from 'type-graphql';
import type { AuthzContext } from '../authz.context';
import type { CatalogueService } from './catalogue.service';
import { PermissionType } from './permission.type';

@Resolver()
export class CatalogueResolver {
  constructor(private readonly catalogue: CatalogueService) {}

  @Query(() => [PermissionType], { description: 'Every registered permission, by code.' })
  @Directive('@authenticated')
  async permissions(
    @Arg('module', () => String, { nullable: true }) module: string | null,
    @Ctx() ctx: AuthzContext,
  ): Promise<PermissionType[]> {
    return (await this.catalogue.list(ctx.em, module)).map(PermissionType.from);
  }
}
