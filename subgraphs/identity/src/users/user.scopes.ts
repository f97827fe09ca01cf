// The permission codes guarding account administration, checked against identity's catalogue
// (identity.permissions.ts): a code it does not declare fails the typecheck.
import type { IDENTITY_PERMISSIONS } from '../identity.permissions';

/** The catalogue's own codes, without the `string` index its general type adds. */
type Declared<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };
type IdentityPermission = Declared<(typeof IDENTITY_PERMISSIONS)['permissions']>;

export const USER_SCOPES = {
  /** List accounts and read any account. */
  read: 'identity.user.read',
  /** Disable and enable accounts. */
  manage: 'identity.user.manage',
} as const satisfies Record<string, IdentityPermission>;
