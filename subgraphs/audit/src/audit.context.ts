// The audit subgraph's per-request context: the kit's, nothing added (no per-row loads to batch).
import type { SubgraphContext } from '@citadel/kit/subgraph';

export type AuditContext = SubgraphContext;

export const extendContext = (base: SubgraphContext): AuditContext => base;
