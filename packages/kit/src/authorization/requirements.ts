// Reads @authenticated / @requiresScopes / @policy applications from a schema into a requirement map.
import {
  isEnumType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  isUnionType,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

/**
 * What an element demands of the caller. `scopes` and `policies` are in disjunctive normal form:
 * the outer list is OR, each inner list is AND. `null` means no such demand.
 */
export interface Requirement {
  authenticated: boolean;
  scopes: string[][] | null;
  policies: string[][] | null;
}

export interface AuthorizationRequirements {
  /** Type-level requirements by type name; only types that demand something. */
  types: ReadonlyMap<string, Requirement>;
  /** Field-level requirements by schema coordinate `Type.field`; only fields that demand something. */
  fields: ReadonlyMap<string, Requirement>;
  /** The same field requirements indexed type first, so hot paths look them up without building a string. */
  fieldsByType: ReadonlyMap<string, ReadonlyMap<string, Requirement>>;
  /** The directive names that carry each requirement in this schema (after @link renames). */
  directiveNames: DirectiveNames;
}

export interface DirectiveNames {
  authenticated: ReadonlySet<string>;
  requiresScopes: ReadonlySet<string>;
  policy: ReadonlySet<string>;
}

export interface ProtectedCoordinate extends Requirement {
  coordinate: string;
  kind: 'type' | 'field';
}

type AuthorizationKind = keyof DirectiveNames;

const AUTHORIZATION_KINDS: readonly AuthorizationKind[] = ['authenticated', 'requiresScopes', 'policy'];
const SPECS_HOST = 'https://specs.apollo.dev/';
const LINK_SPEC = 'link';
const FEDERATION_SPEC = 'federation';
/** Federation added the authorization directives in v2.5; earlier versions cannot carry them. */
const FEDERATION_MIN_MINOR = 5;

const cache = new WeakMap<GraphQLSchema, AuthorizationRequirements>();

/** The schema's authorization requirements, computed once per schema object. */
export function extractRequirements(schema: GraphQLSchema): AuthorizationRequirements {
  let requirements = cache.get(schema);
  if (!requirements) {
    requirements = readRequirements(schema);
    cache.set(schema, requirements);
  }
  return requirements;
}

/** Every protected type and field, sorted by coordinate (for an access map). */
export function protectedCoordinates(schema: GraphQLSchema): ProtectedCoordinate[] {
  const { types, fields } = extractRequirements(schema);
  const list: ProtectedCoordinate[] = [];
  for (const [coordinate, requirement] of types) list.push({ coordinate, kind: 'type', ...copyOf(requirement) });
  for (const [coordinate, requirement] of fields) list.push({ coordinate, kind: 'field', ...copyOf(requirement) });
  return list.sort((a, b) => (a.coordinate < b.coordinate ? -1 : a.coordinate > b.coordinate ? 1 : 0));
}

/** The cached requirements are shared by every request, so callers get their own arrays. */
function copyOf(requirement: Requirement): Requirement {
  return {
    authenticated: requirement.authenticated,
    scopes: requirement.scopes?.map((all) => [...all]) ?? null,
    policies: requirement.policies?.map((all) => [...all]) ?? null,
  };
}

function readRequirements(schema: GraphQLSchema): AuthorizationRequirements {
  const directiveNames = resolveDirectiveNames(schema);
  const types = new Map<string, Requirement>();
  const fields = new Map<string, Requirement>();
  const fieldsByType = new Map<string, Map<string, Requirement>>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const typeRequirement = requirementOf(typeDirectives(type), directiveNames);
    if (typeRequirement) types.set(type.name, typeRequirement);
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const fieldRequirement = requirementOf(field.astNode?.directives ?? [], directiveNames);
      if (!fieldRequirement) continue;
      fields.set(`${type.name}.${field.name}`, fieldRequirement);
      let byName = fieldsByType.get(type.name);
      if (!byName) fieldsByType.set(type.name, (byName = new Map()));
      byName.set(field.name, fieldRequirement);
    }
  }
  return { types, fields, fieldsByType, directiveNames };
}

function typeDirectives(type: GraphQLNamedType): readonly ConstDirectiveNode[] {
  if (!isObjectType(type) && !isInterfaceType(type) && !isUnionType(type) && !isEnumType(type) && !isScalarType(type)) {
    return [];
  }
  const directives = [...(type.astNode?.directives ?? [])];
  for (const extension of type.extensionASTNodes) directives.push(...(extension.directives ?? []));
  return directives;
}

/** Combines every authorization directive on one element; several applications must all hold. */
function requirementOf(directives: readonly ConstDirectiveNode[], names: DirectiveNames): Requirement | null {
  const requirement: Requirement = { authenticated: false, scopes: null, policies: null };
  let found = false;
  for (const directive of directives) {
    const name = directive.name.value;
    if (names.authenticated.has(name)) {
      requirement.authenticated = true;
      found = true;
    } else if (names.requiresScopes.has(name)) {
      const scopes = readDnf(directive, 'scopes');
      if (scopes) requirement.scopes = andDnf(requirement.scopes, scopes);
      found ||= scopes !== null;
    } else if (names.policy.has(name)) {
      const policies = readDnf(directive, 'policies');
      if (policies) requirement.policies = andDnf(requirement.policies, policies);
      found ||= policies !== null;
    }
  }
  return found ? requirement : null;
}

/**
 * Reads `[[String!]!]!` with GraphQL's list input coercion (a lone value is a one-item list).
 * An empty outer list demands nothing, as in the Router, so it reads as null.
 */
function readDnf(directive: ConstDirectiveNode, argument: string): string[][] | null {
  const node = directive.arguments?.find((arg) => arg.name.value === argument);
  if (!node) return null;
  const outer = asList(valueFromASTUntyped(node.value));
  if (outer.length === 0) return null;
  return outer.map((inner) => asList(inner).map((entry) => String(entry)));
}

function asList(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** AND of two OR-of-AND lists: every pairing of one alternative from each. */
function andDnf(left: string[][] | null, right: string[][]): string[][] {
  if (!left) return right;
  const combined: string[][] = [];
  for (const a of left) for (const b of right) combined.push([...new Set([...a, ...b])]);
  return combined;
}

interface LinkApplication {
  specName: string;
  version: { major: number; minor: number };
  /** The `as:` namespace, or the spec's own name. */
  namespace: string;
  /** Imported element name (with @) to its local name (with @). */
  imports: Map<string, string>;
}

/**
 * Finds the local names of the authorization directives from the schema's @link applications.
 * A schema with no @link at all (plain SDL, e.g. in tests) falls back to the plain names, but only
 * for directives it defines; a schema that uses @link gets no fallback, so a same-named directive
 * imported from some other spec is never mistaken for authorization.
 */
function resolveDirectiveNames(schema: GraphQLSchema): DirectiveNames {
  const links = linkApplications(schema);
  const names: Record<AuthorizationKind, Set<string>> = {
    authenticated: new Set(),
    requiresScopes: new Set(),
    policy: new Set(),
  };
  if (links.length === 0) {
    for (const kind of AUTHORIZATION_KINDS) if (schema.getDirective(kind)) names[kind].add(kind);
    return names;
  }
  for (const link of links) {
    for (const kind of AUTHORIZATION_KINDS) {
      if (link.specName === kind && link.version.major === 0 && link.version.minor === 1) {
        names[kind].add(localName(link, kind));
      } else if (isAuthorizationFederation(link)) {
        names[kind].add(localName(link, kind));
      }
    }
  }
  return names;
}

function isAuthorizationFederation(link: LinkApplication): boolean {
  return link.specName === FEDERATION_SPEC && link.version.major === 2 && link.version.minor >= FEDERATION_MIN_MINOR;
}

/**
 * The link spec's naming: an imported element keeps its (possibly renamed) name; otherwise the
 * spec's own-named directive is `@<namespace>` and any other is `@<namespace>__<element>`.
 */
function localName(link: LinkApplication, element: string): string {
  const imported = link.imports.get(`@${element}`);
  if (imported) return imported.replace(/^@/, '');
  return element === link.specName ? link.namespace : `${link.namespace}__${element}`;
}

function linkApplications(schema: GraphQLSchema): LinkApplication[] {
  const directives: ConstDirectiveNode[] = [...(schema.astNode?.directives ?? [])];
  for (const extension of schema.extensionASTNodes) directives.push(...(extension.directives ?? []));
  const links: LinkApplication[] = [];
  for (const directive of directives) {
    if (directive.name.value !== LINK_SPEC) continue;
    const link = parseLink(directive);
    if (link) links.push(link);
  }
  return links;
}

function parseLink(directive: ConstDirectiveNode): LinkApplication | null {
  const args = new Map<string, unknown>();
  for (const arg of directive.arguments ?? []) args.set(arg.name.value, valueFromASTUntyped(arg.value));
  const url = args.get('url');
  if (typeof url !== 'string' || !url.startsWith(SPECS_HOST)) return null;
  const segments = url.slice(SPECS_HOST.length).split(/[?#]/)[0]!.split('/').filter(Boolean);
  const versionMatch = /^v(\d+)\.(\d+)$/.exec(segments.at(-1) ?? '');
  const specName = segments.at(-2);
  if (!versionMatch || !specName) return null;
  const as = args.get('as');
  return {
    specName,
    version: { major: Number(versionMatch[1]), minor: Number(versionMatch[2]) },
    namespace: typeof as === 'string' ? as : specName,
    imports: readImports(args.get('import')),
  };
}

/** `import: ["@a", {name: "@b", as: "@c"}]`. */
function readImports(value: unknown): Map<string, string> {
  const imports = new Map<string, string>();
  for (const entry of asList(value)) {
    if (typeof entry === 'string') {
      imports.set(entry, entry);
    } else if (entry && typeof entry === 'object') {
      const { name, as } = entry as { name?: unknown; as?: unknown };
      if (typeof name === 'string') imports.set(name, typeof as === 'string' ? as : name);
    }
  }
  return imports;
}
