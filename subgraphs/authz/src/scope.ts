// Where a grant applies: everywhere ("global") or inside one resource ("workspace:<id>").
import { invalidScope } from './authz.errors';

export const GLOBAL_SCOPE = 'global';
const RESOURCE_SCOPE = /^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9_-]{1,128}$/;

/** The scope in its stored form, or INVALID_SCOPE. */
export function parseScope(scope: string | null | undefined): string {
  const value = (scope ?? GLOBAL_SCOPE).trim();
  if (value === GLOBAL_SCOPE || RESOURCE_SCOPE.test(value)) return value;
  throw invalidScope();
}
