// A subgraph's permission catalogue: its permission codes, what they allow, and default roles.
// Each subgraph declares one (e.g. identity.permissions.ts) and registers it with authz at start-up.

/** `module.resource.action`, lower case: e.g. `identity.user.read`. */
export const PERMISSION_CODE = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/;

/** Built-in roles every catalogue may add permissions to. `admin` holds every permission implicitly. */
export const BUILT_IN_ROLES = { admin: 'admin', user: 'user' } as const;

export interface PermissionCatalogue {
  /** The subgraph that owns these permissions; every code starts with `<module>.`. */
  module: string;
  /** Code → what it allows, in one sentence a person granting it can read. */
  permissions: Record<string, string>;
  /**
   * Roles this module contributes permissions to, by role name. `user` is held by every account.
   * A permission listed here is added to the role when the permission is first registered, so an
   * administrator who later removes it from the role is not overruled at the next start-up.
   */
  roles: Record<string, readonly string[]>;
}

/** Checks a catalogue when the module loads, so a typo fails at start-up, not at the first request. */
export function definePermissions<const P extends Record<string, string>>(catalogue: {
  module: string;
  permissions: P;
  roles?: Record<string, readonly (keyof P & string)[]>;
}): { module: string; permissions: P; roles: PermissionCatalogue['roles'] } {
  const problems: string[] = [];
  for (const code of Object.keys(catalogue.permissions)) {
    if (!PERMISSION_CODE.test(code)) problems.push(`"${code}" is not module.resource.action`);
    else if (!code.startsWith(`${catalogue.module}.`)) problems.push(`"${code}" does not start with "${catalogue.module}."`);
  }
  for (const [role, codes] of Object.entries(catalogue.roles ?? {})) {
    if (role === BUILT_IN_ROLES.admin) problems.push('the admin role already holds every permission');
    for (const code of codes) if (!(code in catalogue.permissions)) problems.push(`role ${role} lists unknown "${code}"`);
  }
  if (problems.length > 0) throw new Error(`Permission catalogue of ${catalogue.module}: ${problems.join('; ')}`);
  return { module: catalogue.module, permissions: catalogue.permissions, roles: catalogue.roles ?? {} };
}

/**
 * The SDL of a `@requiresScopes` application for type-graphql's `@Directive(...)`.
 * Arguments are alternatives (OR); each is one code or a list of codes all required (AND).
 * Pass the module's code type to have typos caught: `requiresScopes<IdentityPermission>('identity.user.read')`.
 */
export function requiresScopes<Code extends string = string>(...alternatives: (Code | readonly Code[])[]): string {
  const lists = alternatives.map((alt) => (typeof alt === 'string' ? [alt] : [...alt]));
  return `@requiresScopes(scopes: ${JSON.stringify(lists)})`;
}

/** Policies the gateway evaluates from the caller's session, for `@policy(policies: [[...]])`. */
export const POLICIES = {
  /** The session passed a second factor (TOTP or a recovery code). */
  mfa: 'mfa',
  /** The account's email address is verified. */
  verified: 'verified',
} as const;

export function policy(...alternatives: (string | readonly string[])[]): string {
  const lists = alternatives.map((alt) => (typeof alt === 'string' ? [alt] : [...alt]));
  return `@policy(policies: ${JSON.stringify(lists)})`;
}
