// Puts the fields the filter removed back into an execution result as null with an error, as execution would.
import {
  getDirectiveValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type ASTNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { typenameAlias, type FilterResult } from './filter';

export const UNAUTHORIZED_FIELD_OR_TYPE = 'UNAUTHORIZED_FIELD_OR_TYPE';
const UNAUTHORIZED_MESSAGE = 'Unauthorized field or type';

export interface RestoreOptions {
  schema: GraphQLSchema;
  /** The ORIGINAL document, as the client sent it. */
  document: DocumentNode;
  operationName?: string | null;
  removed: FilterResult['removed'];
  /** The result of executing the filtered document; pass `{}` when the filter removed the whole operation. */
  data: Record<string, unknown> | null | undefined;
  /** The request's variables, so a removed field that @skip/@include leaves out stays out. */
  variables?: Readonly<Record<string, unknown>> | null;
}

export interface RestoreResult {
  data: Record<string, unknown> | null;
  errors: GraphQLError[];
}

/**
 * Walks the original operation over `data` the way GraphQL completes values: each removed field
 * becomes null, a null in a non-null position propagates to the nearest nullable parent, and each
 * removed node yields one error per response path pattern (indices of its first occurrence), so a
 * list of 1,000 items does not yield 1,000 errors. Nothing is mutated; visited objects are copied,
 * which also drops the `__citadel_typename` the filter added.
 */
export function restoreRemovedFields(options: RestoreOptions): RestoreResult {
  const { schema, document, removed, data } = options;
  if (removed.size === 0 || !data) return { data: data ?? null, errors: [] };
  const operation = getOperationAST(document, options.operationName);
  const rootType = operation && schema.getRootType(operation.operation);
  if (!operation || !rootType) return { data, errors: [] };
  const restorer = new Restorer(schema, document, operation, removed, options.variables);
  const restored = restorer.completeObject(rootType, [{ selectionSet: operation.selectionSet, removedBy: null }], data, undefined);
  return { data: restored, errors: restorer.errors };
}

/** A selection set to collect from, and the removed node it sits under (if any). */
interface Source {
  selectionSet: SelectionSetNode;
  removedBy: ASTNode | null;
}

/** One field node answering a response key; `removedBy` is the removed node (itself or an enclosing one) that took it out. */
interface Entry {
  node: FieldNode;
  removedBy: ASTNode | null;
}

type CollectedFields = Map<string, Entry[]>;

interface ResponsePath {
  prev: ResponsePath | undefined;
  key: string | number;
}

/** Marks a null that landed in a non-null position: the enclosing list or object becomes null. */
const INVALID: unique symbol = Symbol('null in non-null position');

class Restorer {
  readonly errors: GraphQLError[] = [];
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  /** The alias under which the filter asked for the runtime type (one the client does not use). */
  private readonly typenameAlias: string;
  /** Coerced variables for @skip/@include, on first need; null when they cannot be coerced (then every selection counts). */
  private variableValues: Record<string, unknown> | null | undefined;
  private readonly collected = new WeakMap<readonly Source[], Map<string, CollectedFields>>();
  private readonly childSources = new WeakMap<Entry[], Source[]>();
  private readonly reportedPatterns = new Map<ASTNode, Set<string>>();
  private readonly reportedDescendants = new Map<ASTNode, ASTNode[]>();

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
    private readonly operation: OperationDefinitionNode,
    private readonly removed: FilterResult['removed'],
    private readonly variables: Readonly<Record<string, unknown>> | null | undefined,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(definition.name.value, definition);
    }
    this.typenameAlias = typenameAlias(document);
  }

  /** Returns null when a non-null field of the object ended up null (the caller decides where that null goes). */
  completeObject(
    staticType: GraphQLCompositeType,
    sources: readonly Source[],
    value: Record<string, unknown>,
    path: ResponsePath | undefined,
  ): Record<string, unknown> | null {
    const runtimeType = this.runtimeType(staticType, value);
    const result: Record<string, unknown> = {};
    for (const [key, entries] of this.collectFields(sources, staticType, runtimeType)) {
      const fieldPath: ResponsePath = { prev: path, key };
      const field = this.fieldDefinition(runtimeType ?? staticType, entries[0]!.node.name.value);
      if (entries.every((entry) => entry.removedBy !== null)) {
        this.reportNull(entries, fieldPath);
        if (field && isNonNullType(field.type)) return null;
        result[key] = null;
        continue;
      }
      // Absent and not removed: @skip/@include left it out, so it stays out.
      if (!Object.hasOwn(value, key)) continue;
      const completed = field ? this.completeValue(field.type, entries, value[key], fieldPath) : value[key];
      if (completed === INVALID) return null;
      result[key] = completed;
    }
    return result;
  }

  private completeValue(type: GraphQLOutputType, entries: Entry[], value: unknown, path: ResponsePath): unknown {
    if (isNonNullType(type)) {
      const completed = this.completeValue(type.ofType, entries, value, path);
      return completed === null ? INVALID : completed;
    }
    if (value === null || value === undefined) return null;
    if (isListType(type)) {
      if (!Array.isArray(value)) return value;
      const items: unknown[] = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        const completed = this.completeValue(type.ofType, entries, value[i], { prev: path, key: i });
        if (completed === INVALID) return null;
        items[i] = completed;
      }
      return items;
    }
    if (isLeafType(type) || typeof value !== 'object') return value;
    return this.completeObject(type, this.sourcesUnder(entries), value as Record<string, unknown>, path);
  }

  private runtimeType(staticType: GraphQLCompositeType, value: Record<string, unknown>): GraphQLObjectType | null {
    if (isObjectType(staticType)) return staticType;
    const typename = value[this.typenameAlias];
    const type = typeof typename === 'string' ? this.schema.getType(typename) : undefined;
    return isObjectType(type) ? type : null;
  }

  private fieldDefinition(type: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
    // Meta fields are never removed and their values are copied as they are.
    if (name.startsWith('__')) return undefined;
    return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
  }

  /** Memoized per (sources, runtime type) so the items of a list share one collection. */
  private collectFields(sources: readonly Source[], staticType: GraphQLCompositeType, runtimeType: GraphQLObjectType | null): CollectedFields {
    let byType = this.collected.get(sources);
    if (!byType) this.collected.set(sources, (byType = new Map()));
    const cacheKey = runtimeType?.name ?? '';
    let fields = byType.get(cacheKey);
    if (!fields) {
      fields = new Map();
      for (const source of sources) this.collectInto(fields, source.selectionSet, source.removedBy, staticType, runtimeType, new Set());
      byType.set(cacheKey, fields);
    }
    return fields;
  }

  private collectInto(
    fields: CollectedFields,
    selectionSet: SelectionSetNode,
    removedBy: ASTNode | null,
    staticType: GraphQLCompositeType,
    runtimeType: GraphQLObjectType | null,
    visiting: Set<string>,
  ): void {
    for (const selection of selectionSet.selections) {
      if (!this.included(selection)) continue;
      const removedHere = removedBy ?? (this.removed.has(selection) ? selection : null);
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const entries = fields.get(key);
        const entry = { node: selection, removedBy: removedHere };
        if (entries) entries.push(entry);
        else fields.set(key, [entry]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (!this.fragmentApplies(selection.typeCondition?.name.value, staticType, runtimeType)) continue;
        this.collectInto(fields, selection.selectionSet, removedHere, staticType, runtimeType, visiting);
      } else {
        const fragment = this.fragments.get(selection.name.value);
        if (!fragment || visiting.has(fragment.name.value)) continue;
        if (!this.fragmentApplies(fragment.typeCondition.name.value, staticType, runtimeType)) continue;
        visiting.add(fragment.name.value);
        this.collectInto(fields, fragment.selectionSet, removedHere, staticType, runtimeType, visiting);
        visiting.delete(fragment.name.value);
      }
    }
  }

  /** @skip and @include as execution applies them: a selection they leave out is never put back. */
  private included(selection: SelectionNode): boolean {
    if (!selection.directives?.length) return true;
    if (this.variableValues === undefined) {
      const coerced = getVariableValues(this.schema, this.operation.variableDefinitions ?? [], this.variables ?? {});
      this.variableValues = 'coerced' in coerced ? coerced.coerced : null;
    }
    const variableValues = this.variableValues;
    if (!variableValues) return true;
    try {
      if (getDirectiveValues(GraphQLSkipDirective, selection, variableValues)?.['if'] === true) return false;
      return getDirectiveValues(GraphQLIncludeDirective, selection, variableValues)?.['if'] !== false;
    } catch {
      return true;
    }
  }

  /**
   * Without a runtime type (the filter added no alias there), only fragments that apply to every
   * possible type are applied: conservative, they are certainly right.
   */
  private fragmentApplies(condition: string | undefined, staticType: GraphQLCompositeType, runtimeType: GraphQLObjectType | null): boolean {
    if (condition === undefined) return true;
    const conditionType = this.schema.getType(condition);
    if (!conditionType) return false;
    if (runtimeType) {
      return conditionType === runtimeType || (isAbstractType(conditionType) && this.schema.isSubType(conditionType, runtimeType));
    }
    if (conditionType === staticType) return true;
    if (!isAbstractType(conditionType) || !isAbstractType(staticType)) return false;
    return this.schema.getPossibleTypes(staticType).every((type) => this.schema.isSubType(conditionType, type));
  }

  /** The selection sets under a response key's field nodes, each still marked with what removed it. */
  private sourcesUnder(entries: Entry[]): Source[] {
    let sources = this.childSources.get(entries);
    if (!sources) {
      sources = [];
      for (const entry of entries) {
        if (entry.node.selectionSet) sources.push({ selectionSet: entry.node.selectionSet, removedBy: entry.removedBy });
      }
      this.childSources.set(entries, sources);
    }
    return sources;
  }

  /**
   * One error per removed node behind a null. A node removed silently (its selection set became
   * empty) has no error of its own, so the reported nodes beneath it answer for it here, at the
   * deepest path that exists in the response.
   */
  private reportNull(entries: Entry[], path: ResponsePath): void {
    const seen = new Set<ASTNode>();
    for (const { removedBy } of entries) {
      if (!removedBy || seen.has(removedBy)) continue;
      seen.add(removedBy);
      if (this.removed.get(removedBy)?.reported) this.addError(removedBy, path);
      else for (const descendant of this.reportedUnder(removedBy)) this.addError(descendant, path);
    }
  }

  private addError(node: ASTNode, path: ResponsePath): void {
    const pattern = pathPattern(path);
    let patterns = this.reportedPatterns.get(node);
    if (!patterns) this.reportedPatterns.set(node, (patterns = new Set()));
    if (patterns.has(pattern)) return;
    patterns.add(pattern);
    this.errors.push(
      new GraphQLError(UNAUTHORIZED_MESSAGE, {
        nodes: [node],
        path: pathToArray(path),
        extensions: { code: UNAUTHORIZED_FIELD_OR_TYPE },
      }),
    );
  }

  private reportedUnder(node: ASTNode): ASTNode[] {
    let found = this.reportedDescendants.get(node);
    if (found) return found;
    found = [];
    const visiting = new Set<string>();
    const visit = (selectionSet: SelectionSetNode | undefined) => {
      for (const selection of selectionSet?.selections ?? []) {
        if (this.removed.get(selection)?.reported) {
          found!.push(selection);
        } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
          if (visiting.has(selection.name.value)) continue;
          visiting.add(selection.name.value);
          visit(this.fragments.get(selection.name.value)?.selectionSet);
        } else {
          visit(selection.selectionSet);
        }
      }
    };
    if (node.kind === Kind.FRAGMENT_SPREAD) visit(this.fragments.get(node.name.value)?.selectionSet);
    else if (node.kind === Kind.FIELD || node.kind === Kind.INLINE_FRAGMENT) visit(node.selectionSet);
    this.reportedDescendants.set(node, found);
    return found;
  }
}

function pathToArray(path: ResponsePath | undefined): Array<string | number> {
  const keys: Array<string | number> = [];
  for (let at = path; at; at = at.prev) keys.push(at.key);
  return keys.reverse();
}

/** The path with list indices blanked: one error per pattern, not per list item. */
function pathPattern(path: ResponsePath): string {
  return pathToArray(path)
    .map((key) => (typeof key === 'number' ? '[]' : key))
    .join('.');
}

