// Operation limits checked before planning: depth, aliases, root fields (Apollo Router's names),
// and the nesting of the document text, checked before it is parsed at all.
import { HeaderMap, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import {
  getVariableValues,
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { AppError } from '@citadel/kit/errors';

export const LIMIT_ERRORS = {
  MAX_DEPTH_LIMIT: 'MAX_DEPTH_LIMIT',
  MAX_ALIASES_LIMIT: 'MAX_ALIASES_LIMIT',
  MAX_ROOT_FIELDS_LIMIT: 'MAX_ROOT_FIELDS_LIMIT',
  /** Braces, brackets and parentheses nested past `maxNesting`: refused before parsing. */
  MAX_NESTING_LIMIT: 'MAX_NESTING_LIMIT',
} as const;

/**
 * graphql-js parses, validates and executes documents recursively: a document nested a few
 * thousand levels deep (`{a{a{a...`, `[[[[...`, `... on Q { ... on Q {`) fits in a 1 MB body
 * and overflows the stack (a RangeError, which Apollo answers with a 500). 256 leaves room for
 * any real document (MAX_DEPTH counts fields only) and is far below where the stack runs out.
 */
export const DEFAULT_MAX_NESTING = 256;

/**
 * The deepest nesting of `{`, `[` and `(` in a document's text, strings and comments skipped,
 * counted no further than `stopAt` (a hostile document is not scanned to its end).
 */
export function documentNesting(text: string, stopAt = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b || c === 0x28) {
      if (++depth > deepest && (deepest = depth) > stopAt) return deepest;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      if (depth > 0) depth--;
    } else if (c === 0x23) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a && text.charCodeAt(i) !== 0x0d) i++;
    } else if (c === 0x22) {
      if (text.startsWith('"""', i)) {
        const end = findBlockStringEnd(text, i + 3);
        i = end < 0 ? text.length : end + 2;
      } else {
        for (i++; i < text.length; i++) {
          const d = text.charCodeAt(i);
          if (d === 0x5c) i++;
          else if (d === 0x22 || d === 0x0a || d === 0x0d) break;
        }
      }
    }
  }
  return deepest;
}

/** Index of the closing `"""` of a block string (where `\"""` is an escaped quote), or -1. */
function findBlockStringEnd(text: string, from: number): number {
  for (let at = text.indexOf('"""', from); at >= 0; at = text.indexOf('"""', at + 1)) {
    if (text.charCodeAt(at - 1) !== 0x5c) return at;
  }
  return -1;
}

/** The error for a document nested deeper than `maxNesting`, or undefined when it is within it. */
export function nestingError(query: string, maxNesting = DEFAULT_MAX_NESTING): AppError | undefined {
  if (documentNesting(query, maxNesting) <= maxNesting) return undefined;
  return new AppError(LIMIT_ERRORS.MAX_NESTING_LIMIT, `Document nesting exceeds the limit of ${maxNesting}`);
}

/**
 * Refuses, before Apollo parses it, a document nested deeper than `maxNesting`, with 400
 * MAX_NESTING_LIMIT. Covers HTTP and `executeOperation` (graphql-ws queries) alike.
 */
export function nestingLimitPlugin<TContext extends BaseContext>(maxNesting = DEFAULT_MAX_NESTING): ApolloServerPlugin<TContext> {
  if (!Number.isInteger(maxNesting) || maxNesting < 1) throw new Error(`maxNesting must be a positive integer, got ${maxNesting}`);
  return {
    async requestDidStart({ request }) {
      const error = typeof request.query === 'string' ? nestingError(request.query, maxNesting) : undefined;
      if (!error) return;
      // As in persisted-documents.ts: an emptied request is answered 400 without parsing, with our error in place of Apollo's.
      request.query = undefined;
      return {
        async willSendResponse({ response }) {
          response.body = { kind: 'single', singleResult: { errors: [{ message: error.message, extensions: error.extensions }] } };
        },
      };
    },
  };
}

export interface OperationLimits {
  /** Deepest field nesting; `{ me { id } }` has depth 2. Introspection fields are not counted. */
  maxDepth: number;
  /** Aliased fields in the operation, fragments included at each use. */
  maxAliases: number;
  /** Fields selected on the root type, fragments included. */
  maxRootFields: number;
}

/** graphql-js's own execute() stops coercing variables after this many errors. */
const MAX_VARIABLE_ERRORS = 50;
const MAX_ERROR_MESSAGE = 2_000;

/**
 * @apollo/gateway coerces variables with no error limit, and graphql-js writes the whole offending
 * value into every error's message: an input object with 30 000 unknown keys (400 KB) made 30 000
 * messages of 400 KB each, and the gateway ran out of memory. Variables are coerced here first,
 * stopping at 50 errors as graphql-js's execute() does; a bad set is answered 400 BAD_USER_INPUT
 * and never reaches the gateway's coercion.
 */
export function variableCoercionPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async responseForOperation({ schema, operation, request }) {
          // Apollo leaves the operation unresolved (typed otherwise) when a document has several and no name picks one.
          const definitions = (operation as typeof operation | undefined)?.variableDefinitions ?? [];
          if (definitions.length === 0) return null;
          const variables = request.variables ?? {};
          // Each error quotes the offending object whole: even 50 of them over 30 000 keys block the event loop for seconds.
          const errors = hasHugeObject(variables)
            ? [new GraphQLError(`Variables hold an object with more than ${MAX_VARIABLE_OBJECT_KEYS} fields`)]
            : getVariableValues(schema, definitions, variables, { maxErrors: MAX_VARIABLE_ERRORS }).errors;
          if (!errors) return null;
          const formatted = errors.map((error) => ({
            message: error.message.length > MAX_ERROR_MESSAGE ? `${error.message.slice(0, MAX_ERROR_MESSAGE)}…` : error.message,
            ...(error.locations ? { locations: error.locations } : {}),
            extensions: { code: 'BAD_USER_INPUT' },
          }));
          return { http: { status: 400, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { errors: formatted } } };
        },
      };
    },
  };
}

/** No input type of ours has near this many fields; a JSON scalar's map is not taken as input. */
const MAX_VARIABLE_OBJECT_KEYS = 1_000;

/** Whether any object in the variables has more than MAX_VARIABLE_OBJECT_KEYS keys (walked without recursion). */
function hasHugeObject(variables: Record<string, unknown>): boolean {
  const pending: unknown[] = [variables];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null) continue;
    const children = Array.isArray(value) ? value : Object.values(value);
    if (!Array.isArray(value) && children.length > MAX_VARIABLE_OBJECT_KEYS) return true;
    for (const child of children) if (typeof child === 'object' && child !== null) pending.push(child);
  }
  return false;
}

interface Measure {
  depth: number;
  aliases: number;
}

/**
 * One validation rule measuring each operation. Each fragment is measured once and its figures
 * reused at every spread, so nested fragments cannot make validation exponential.
 */
export function operationLimitsRule(limits: OperationLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const measurer = new Measurer((name) => context.getFragment(name) ?? undefined);
    return {
      OperationDefinition(operation) {
        const measured = measurer.selectionSet(operation.selectionSet);
        if (measured.rootFields > limits.maxRootFields) {
          context.reportError(
            new AppError(
              LIMIT_ERRORS.MAX_ROOT_FIELDS_LIMIT,
              `Operation selects ${measured.rootFields} root fields; the limit is ${limits.maxRootFields}`,
            ),
          );
        }
        if (measured.depth > limits.maxDepth) {
          context.reportError(
            new AppError(LIMIT_ERRORS.MAX_DEPTH_LIMIT, `Operation depth ${measured.depth} exceeds the limit of ${limits.maxDepth}`),
          );
        }
        if (measured.aliases > limits.maxAliases) {
          context.reportError(
            new AppError(
              LIMIT_ERRORS.MAX_ALIASES_LIMIT,
              `Operation uses ${measured.aliases} aliases; the limit is ${limits.maxAliases}`,
            ),
          );
        }
        return false;
      },
    };
  };
}

interface Measure {
  /** Deepest field nesting below this selection set (introspection subtrees count 0). */
  depth: number;
  /** Aliased fields, introspection subtrees included. */
  aliases: number;
  /** Fields directly in this selection set, through fragments, `__typename` excluded. */
  rootFields: number;
}

const NOTHING: Measure = { depth: 0, aliases: 0, rootFields: 0 };

class Measurer {
  private readonly fragments = new Map<string, Measure>();
  private readonly visiting = new Set<string>();

  constructor(private readonly lookup: (name: string) => FragmentDefinitionNode | undefined) {}

  selectionSet(set: SelectionSetNode, introspection = false): Measure {
    let depth = 0;
    let aliases = 0;
    let rootFields = 0;
    for (const selection of set.selections) {
      let inner: Measure;
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases++;
        if (selection.name.value !== '__typename') rootFields++;
        // Introspection does not count toward depth, but its aliases still count.
        const inIntrospection = introspection || selection.name.value.startsWith('__');
        const below = selection.selectionSet ? this.selectionSet(selection.selectionSet, inIntrospection) : NOTHING;
        depth = Math.max(depth, inIntrospection ? 0 : below.depth + 1);
        aliases += below.aliases;
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) inner = this.selectionSet(selection.selectionSet, introspection);
      else inner = this.fragment(selection.name.value, introspection);
      depth = Math.max(depth, inner.depth);
      aliases += inner.aliases;
      rootFields += inner.rootFields;
    }
    return { depth, aliases, rootFields };
  }

  /** Measured once per fragment; a cycle (reported by graphql's own rule) measures as nothing. */
  private fragment(name: string, introspection: boolean): Measure {
    const key = introspection ? `__introspection:${name}` : name;
    const known = this.fragments.get(key);
    if (known) return known;
    const definition = this.lookup(name);
    if (!definition || this.visiting.has(key)) return NOTHING;
    this.visiting.add(key);
    const measured = this.selectionSet(definition.selectionSet, introspection);
    this.visiting.delete(key);
    this.fragments.set(key, measured);
    return measured;
  }
}
