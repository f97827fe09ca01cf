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

/** One validation rule measuring each operation in a single walk (fragments followed, cycles cut). */
export function operationLimitsRule(limits: OperationLimits) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      const fragment = (name: string): FragmentDefinitionNode | undefined => context.getFragment(name) ?? undefined;
      const rootFields = countRootFields(operation.selectionSet, fragment, new Set());
      if (rootFields > limits.maxRootFields) {
        context.reportError(
          new AppError(
            LIMIT_ERRORS.MAX_ROOT_FIELDS_LIMIT,
            `Operation selects ${rootFields} root fields; the limit is ${limits.maxRootFields}`,
          ),
        );
      }
      const measured = measure(operation.selectionSet, fragment, new Set());
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
  });
}

type FragmentLookup = (name: string) => FragmentDefinitionNode | undefined;

function measure(set: SelectionSetNode, fragment: FragmentLookup, visiting: Set<string>): Measure {
  let depth = 0;
  let aliases = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.alias) aliases++;
      if (selection.name.value.startsWith('__')) continue;
      const inner = selection.selectionSet ? measure(selection.selectionSet, fragment, visiting) : { depth: 0, aliases: 0 };
      depth = Math.max(depth, inner.depth + 1);
      aliases += inner.aliases;
    } else {
      const target = selection.kind === Kind.INLINE_FRAGMENT ? selection : enter(selection.name.value, fragment, visiting);
      if (!target) continue;
      const inner = measure(target.selectionSet, fragment, visiting);
      if (selection.kind === Kind.FRAGMENT_SPREAD) visiting.delete(selection.name.value);
      depth = Math.max(depth, inner.depth);
      aliases += inner.aliases;
    }
  }
  return { depth, aliases };
}

function countRootFields(set: SelectionSetNode, fragment: FragmentLookup, visiting: Set<string>): number {
  let count = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') count++;
      continue;
    }
    const target = selection.kind === Kind.INLINE_FRAGMENT ? selection : enter(selection.name.value, fragment, visiting);
    if (!target) continue;
    count += countRootFields(target.selectionSet, fragment, visiting);
    if (selection.kind === Kind.FRAGMENT_SPREAD) visiting.delete(selection.name.value);
  }
  return count;
}

/** A fragment being expanded already (a cycle, reported by graphql's own rule) is not entered. */
function enter(name: string, fragment: FragmentLookup, visiting: Set<string>): FragmentDefinitionNode | undefined {
  if (visiting.has(name)) return undefined;
  const found = fragment(name);
  if (found) visiting.add(name);
  return found;
}
