// Field-level authorization from the schema's @authenticated / @requiresScopes / @policy: the public API.
export {
  extractRequirements,
  protectedCoordinates,
  type AuthorizationRequirements,
  type DirectiveNames,
  type ProtectedCoordinate,
  type Requirement,
} from './requirements';
export {
  filterOperation,
  isAuthorized,
  TYPENAME_ALIAS,
  type AuthorizationCaller,
  type FilterOptions,
  type FilterResult,
} from './filter';
export { restoreRemovedFields, UNAUTHORIZED_FIELD_OR_TYPE, type RestoreOptions, type RestoreResult } from './restore';
