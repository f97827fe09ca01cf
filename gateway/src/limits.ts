// Operation limits checked before planning: depth, aliases, root fields (Apollo Router's names).
import {
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
} as const;

export interface OperationLimits {
  /** Deepest field nesting; `{ me { id } }` has depth 2. Introspection fields are not counted. */
  maxDepth: number;
  /** Aliased fields in the operation, fragments included at each use. */
  maxAliases: number;
  /** Fields selected on the root type, fragments included. */
  maxRootFields: number;
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
