// Removes from an operation what the caller may not see, with Apollo Router's authorization rules.
import {
  getNamedType,
  getOperationAST,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type ASTNode,
  type DefinitionNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { extractRequirements, type AuthorizationRequirements, type Requirement } from './requirements';

/**
 * Alias under which the filtered document asks for `__typename` in abstract selection sets, so
 * restoreRemovedFields can tell which fragments applied to each object. A document whose client
 * uses it already gets the first free `__citadel_typename_<n>` instead (see typenameAlias).
 */
export const TYPENAME_ALIAS = '__citadel_typename';

export interface AuthorizationCaller {
  authenticated: boolean;
  scopes: ReadonlySet<string> | readonly string[];
  policies: ReadonlySet<string> | readonly string[];
}

export interface FilterOptions {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  caller: AuthorizationCaller;
}

export interface FilterResult {
  /** The document with unauthorized parts removed; null when the whole operation is removed. Same object as the input when nothing was removed. */
  document: DocumentNode | null;
  /** Apollo Router format paths, in document traversal order. */
  unauthorizedPaths: string[];
  /** Schema coordinates ("Type.field" or "Type") denied, deduplicated, for metrics. */
  deniedCoordinates: string[];
  /**
   * AST nodes of the INPUT document removed: Field, InlineFragment and FragmentSpread nodes, each with
   * reported=true (an unauthorized path was reported) or false (removed silently because its
   * selection set became empty). When the root type itself is denied (path ''), every top-level
   * selection of the operation is listed as reported.
   */
  removed: Map<ASTNode, { reported: boolean }>;
}

/** Whether the caller meets every demand of a requirement (OR of AND lists for scopes and policies). */
export function isAuthorized(requirement: Requirement, caller: AuthorizationCaller): boolean {
  if (requirement.authenticated && !caller.authenticated) return false;
  if (requirement.scopes && !meetsAny(requirement.scopes, caller.scopes)) return false;
  if (requirement.policies && !meetsAny(requirement.policies, caller.policies)) return false;
  return true;
}

/**
 * Filters the selected operation (by operationName, or the only one). The input document is never
 * mutated: unchanged subtrees are shared, changed ones are copied.
 */
export function filterOperation(options: FilterOptions): FilterResult {
  const { schema, document } = options;
  const index = schemaIndex(schema);
  if (index.isEmpty) return unchanged(document);
  // "" names no operation, as @apollo/gateway reads it (graphql-js would find none and select nothing).
  const operation = getOperationAST(document, options.operationName || null);
  // An operation that cannot be selected is left for execution to report.
  if (!operation) return unchanged(document);
  return new FilterRun(schema, index, options.caller, document).run(operation);
}

// ---------------------------------------------------------------------------------------------
// Per-schema index: which requirements guard each field, computed once and shared by all callers.

interface Guard {
  coordinate: string;
  requirement: Requirement;
}

interface FieldGuards {
  /** Rules 1, 2 and 4: the field's own directive, its return type's, and (for an interface parent) every implementor's same-named field. */
  always: readonly Guard[];
  /** Rule 3: when the field returns an interface, each implementing type's directive. */
  implementors: readonly Guard[];
}

interface SchemaIndex {
  isEmpty: boolean;
  requirements: AuthorizationRequirements;
  fieldGuards(parentType: GraphQLCompositeType, field: GraphQLField<unknown, unknown>): FieldGuards;
  /** `... on T`, built once per type name. */
  fragmentElement(typeName: string): string;
}

const NO_GUARDS: FieldGuards = Object.freeze({ always: [], implementors: [] });
const indexes = new WeakMap<GraphQLSchema, SchemaIndex>();

function schemaIndex(schema: GraphQLSchema): SchemaIndex {
  let index = indexes.get(schema);
  if (!index) {
    index = buildSchemaIndex(schema);
    indexes.set(schema, index);
  }
  return index;
}

function buildSchemaIndex(schema: GraphQLSchema): SchemaIndex {
  const requirements = extractRequirements(schema);
  const guardsByField = new Map<GraphQLField<unknown, unknown>, FieldGuards>();
  const fragmentElements = new Map<string, string>();
  return {
    isEmpty: requirements.types.size === 0 && requirements.fields.size === 0,
    requirements,
    fieldGuards(parentType, field) {
      let guards = guardsByField.get(field);
      if (!guards) {
        guards = computeFieldGuards(schema, requirements, parentType, field);
        guardsByField.set(field, guards);
      }
      return guards;
    },
    fragmentElement(typeName) {
      let element = fragmentElements.get(typeName);
      if (element === undefined) fragmentElements.set(typeName, (element = `... on ${typeName}`));
      return element;
    },
  };
}

function computeFieldGuards(
  schema: GraphQLSchema,
  requirements: AuthorizationRequirements,
  parentType: GraphQLCompositeType,
  field: GraphQLField<unknown, unknown>,
): FieldGuards {
  const always: Guard[] = [];
  const add = (list: Guard[], coordinate: string, requirement: Requirement | undefined) => {
    if (requirement && !list.some((guard) => guard.coordinate === coordinate)) list.push({ coordinate, requirement });
  };
  const fieldGuard = (typeName: string, fieldName: string) => requirements.fieldsByType.get(typeName)?.get(fieldName);
  add(always, `${parentType.name}.${field.name}`, fieldGuard(parentType.name, field.name));
  const returnType = getNamedType(field.type);
  add(always, returnType.name, requirements.types.get(returnType.name));
  if (isInterfaceType(parentType)) {
    const { objects, interfaces } = schema.getImplementations(parentType);
    for (const implementor of [...objects, ...interfaces]) {
      const implementorField = implementor.getFields()[field.name];
      if (!implementorField) continue;
      add(always, `${implementor.name}.${field.name}`, fieldGuard(implementor.name, field.name));
      const implementorReturn = getNamedType(implementorField.type);
      add(always, implementorReturn.name, requirements.types.get(implementorReturn.name));
    }
  }
  const implementors: Guard[] = [];
  if (isInterfaceType(returnType)) {
    const { objects, interfaces } = schema.getImplementations(returnType);
    for (const implementor of [...objects, ...interfaces]) {
      add(implementors, implementor.name, requirements.types.get(implementor.name));
    }
  }
  return always.length === 0 && implementors.length === 0 ? NO_GUARDS : { always, implementors };
}

// ---------------------------------------------------------------------------------------------
// One filtering run for one caller and one document.

const REPORTED = Object.freeze({ reported: true });
const SILENT = Object.freeze({ reported: false });

interface FilteredFragment {
  selectionSet: SelectionSetNode | null;
  /** Paths reported inside the fragment, relative to a spread site ('/reviews/@'). */
  paths: readonly string[];
}

class FilterRun {
  private paths: string[] = [];
  private path: string[] = [];
  private readonly denied = new Set<string>();
  private readonly removed = new Map<ASTNode, { reported: boolean }>();
  /** Filtered selection set to the original it came from (only for ones that changed). */
  private readonly origin = new Map<SelectionSetNode, SelectionSetNode>();
  private readonly verdicts = new Map<Requirement, boolean>();
  private fragments: Map<string, FragmentDefinitionNode> | null = null;
  private readonly filteredFragments = new Map<string, FilteredFragment | null>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly index: SchemaIndex,
    private readonly caller: AuthorizationCaller,
    private readonly document: DocumentNode,
  ) {}

  run(operation: OperationDefinitionNode): FilterResult {
    const rootType = this.schema.getRootType(operation.operation);
    if (!rootType) return unchanged(this.document);
    const rootRequirement = this.index.requirements.types.get(rootType.name);
    if (rootRequirement && !this.allows(rootRequirement)) {
      this.paths.push('');
      this.denied.add(rootType.name);
      // Listed as reported so restoreRemovedFields(data: {}) answers each root field with null and an error.
      for (const selection of operation.selectionSet.selections) this.removed.set(selection, REPORTED);
      return this.result(null);
    }
    const selectionSet = this.filterSelectionSet(operation.selectionSet, rootType);
    if (this.removed.size === 0) return this.result(this.document);
    if (!selectionSet) return this.result(null);
    return this.result(this.buildDocument(operation, rootType, selectionSet));
  }

  private result(document: DocumentNode | null): FilterResult {
    return { document, unauthorizedPaths: this.paths, deniedCoordinates: [...this.denied], removed: this.removed };
  }

  private allows(requirement: Requirement): boolean {
    let verdict = this.verdicts.get(requirement);
    if (verdict === undefined) {
      verdict = isAuthorized(requirement, this.caller);
      this.verdicts.set(requirement, verdict);
    }
    return verdict;
  }

  /** Returns the same object when nothing inside was removed, and null when everything was. */
  private filterSelectionSet(selectionSet: SelectionSetNode, parentType: GraphQLCompositeType): SelectionSetNode | null {
    const { selections } = selectionSet;
    let kept: SelectionNode[] | null = null;
    for (let i = 0; i < selections.length; i++) {
      const selection = selections[i]!;
      const filtered = this.filterSelection(selection, parentType);
      if (filtered === selection) {
        kept?.push(selection);
        continue;
      }
      kept ??= selections.slice(0, i);
      if (filtered) kept.push(filtered);
    }
    if (!kept) return selectionSet;
    if (kept.length === 0) return null;
    const filtered: SelectionSetNode = { ...selectionSet, selections: kept };
    this.origin.set(filtered, selectionSet);
    return filtered;
  }

  private filterSelection(selection: SelectionNode, parentType: GraphQLCompositeType): SelectionNode | null {
    switch (selection.kind) {
      case Kind.FIELD:
        return this.filterField(selection, parentType);
      case Kind.INLINE_FRAGMENT:
        return this.filterInlineFragment(selection, parentType);
      case Kind.FRAGMENT_SPREAD:
        return this.filterFragmentSpread(selection);
    }
  }

  private filterField(node: FieldNode, parentType: GraphQLCompositeType): FieldNode | null {
    // __typename and introspection carry no authorization and must always answer.
    if (node.name.value.startsWith('__')) return node;
    const field = isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[node.name.value] : undefined;
    // An unknown field is left for validation to report.
    if (!field) return node;
    const list = isListOutput(field.type);
    this.path.push(node.name.value);
    if (list) this.path.push('@');
    const filtered = this.filterKnownField(node, parentType, field);
    if (list) this.path.pop();
    this.path.pop();
    return filtered;
  }

  private filterKnownField(node: FieldNode, parentType: GraphQLCompositeType, field: GraphQLField<unknown, unknown>): FieldNode | null {
    const denied = this.deniedCoordinates(parentType, field, node);
    if (denied) {
      this.report(node, denied);
      return null;
    }
    if (!node.selectionSet) return node;
    const returnType = getNamedType(field.type);
    if (!isCompositeType(returnType)) return node;
    const selectionSet = this.filterSelectionSet(node.selectionSet, returnType);
    if (selectionSet === node.selectionSet) return node;
    if (!selectionSet) {
      this.removed.set(node, SILENT);
      return null;
    }
    return { ...node, selectionSet };
  }

  /** The coordinates whose requirements the caller misses for this field, or null when it may be read. */
  private deniedCoordinates(parentType: GraphQLCompositeType, field: GraphQLField<unknown, unknown>, node: FieldNode): string[] | null {
    const guards = this.index.fieldGuards(parentType, field);
    let denied: string[] | null = null;
    for (const guard of guards.always) {
      if (!this.allows(guard.requirement)) (denied ??= []).push(guard.coordinate);
    }
    // Selecting only __typename and fragments on an interface is safe: fragments on a denied
    // implementor are removed on their own, so implementors only matter for direct fields.
    if (guards.implementors.length > 0 && !onlyTypenameOrFragments(node.selectionSet)) {
      for (const guard of guards.implementors) {
        if (!this.allows(guard.requirement)) (denied ??= []).push(guard.coordinate);
      }
    }
    return denied;
  }

  private filterInlineFragment(node: InlineFragmentNode, parentType: GraphQLCompositeType): InlineFragmentNode | null {
    const condition = node.typeCondition?.name.value;
    const type = condition === undefined ? parentType : this.schema.getType(condition);
    if (!type || !isCompositeType(type)) return node;
    // The Router names a fragment without type condition '... on ' (empty type name).
    this.path.push(this.index.fragmentElement(condition ?? ''));
    const filtered = this.filterKnownInlineFragment(node, type, condition);
    this.path.pop();
    return filtered;
  }

  private filterKnownInlineFragment(node: InlineFragmentNode, type: GraphQLCompositeType, condition: string | undefined): InlineFragmentNode | null {
    if (condition !== undefined && this.typeDenied(condition)) {
      this.report(node, [condition]);
      return null;
    }
    const selectionSet = this.filterSelectionSet(node.selectionSet, type);
    if (selectionSet === node.selectionSet) return node;
    if (!selectionSet) {
      this.removed.set(node, SILENT);
      return null;
    }
    return { ...node, selectionSet };
  }

  private filterFragmentSpread(node: FragmentSpreadNode): FragmentSpreadNode | null {
    const fragment = this.fragment(node.name.value);
    if (!fragment) return node;
    const condition = fragment.typeCondition.name.value;
    if (this.typeDenied(condition)) {
      this.path.push(this.index.fragmentElement(condition));
      this.report(node, [condition]);
      this.path.pop();
      return null;
    }
    const filtered = this.filterFragment(fragment);
    if (!filtered) return node;
    // A fragment is filtered once; what it removed is reported again at every spread site.
    if (filtered.paths.length > 0) {
      const prefix = this.currentPath();
      for (const relative of filtered.paths) this.paths.push(prefix + relative);
    }
    if (!filtered.selectionSet) {
      this.removed.set(node, SILENT);
      return null;
    }
    return node;
  }

  /** Filters a fragment definition once, with paths relative to its spread sites; null for an unusable or cyclic fragment. */
  private filterFragment(fragment: FragmentDefinitionNode): FilteredFragment | null {
    const name = fragment.name.value;
    if (this.filteredFragments.has(name)) return this.filteredFragments.get(name) ?? null;
    this.filteredFragments.set(name, null);
    const type = this.schema.getType(fragment.typeCondition.name.value);
    if (!type || !isCompositeType(type)) return null;
    const [outerPath, outerPaths] = [this.path, this.paths];
    this.path = [];
    this.paths = [];
    const filtered: FilteredFragment = { selectionSet: this.filterSelectionSet(fragment.selectionSet, type), paths: this.paths };
    this.path = outerPath;
    this.paths = outerPaths;
    this.filteredFragments.set(name, filtered);
    return filtered;
  }

  private typeDenied(typeName: string): boolean {
    const requirement = this.index.requirements.types.get(typeName);
    return requirement !== undefined && !this.allows(requirement);
  }

  private report(node: ASTNode, coordinates: readonly string[]): void {
    this.paths.push(this.currentPath());
    for (const coordinate of coordinates) this.denied.add(coordinate);
    this.removed.set(node, REPORTED);
  }

  private currentPath(): string {
    return this.path.length === 0 ? '' : `/${this.path.join('/')}`;
  }

  private fragment(name: string): FragmentDefinitionNode | undefined {
    if (!this.fragments) {
      this.fragments = new Map();
      for (const definition of this.document.definitions) {
        if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(definition.name.value, definition);
      }
    }
    return this.fragments.get(name);
  }

  // -------------------------------------------------------------------------------------------
  // Output document: the filtered operation, the fragments it still uses, the variables it still uses.

  private buildDocument(operation: OperationDefinitionNode, rootType: GraphQLCompositeType, selectionSet: SelectionSetNode): DocumentNode {
    const usedFragments = this.reachableFragments(selectionSet);
    const variables = new Set<string>();
    collectDirectiveVariables(operation.directives, variables);
    collectSelectionVariables(selectionSet, variables);
    for (const name of usedFragments) {
      const fragment = this.fragment(name)!;
      collectDirectiveVariables(fragment.directives, variables);
      collectSelectionVariables(this.fragmentOutput(name)!, variables);
    }
    const typenameField = typenameFieldNode(typenameAlias(this.document));
    const definitions: DefinitionNode[] = [];
    for (const definition of this.document.definitions) {
      if (definition === operation) {
        const variableDefinitions = operation.variableDefinitions?.filter((v) => variables.has(v.variable.name.value));
        definitions.push({
          ...operation,
          variableDefinitions,
          selectionSet: this.withTypenameAlias(selectionSet, rootType, typenameField),
        });
      } else if (definition.kind === Kind.FRAGMENT_DEFINITION && usedFragments.has(definition.name.value)) {
        definitions.push(this.outputFragment(definition, typenameField));
      }
    }
    return { ...this.document, definitions };
  }

  private outputFragment(fragment: FragmentDefinitionNode, typenameField: FieldNode): FragmentDefinitionNode {
    const filtered = this.fragmentOutput(fragment.name.value)!;
    const type = this.schema.getType(fragment.typeCondition.name.value);
    const selectionSet = isCompositeType(type) ? this.withTypenameAlias(filtered, type, typenameField) : filtered;
    return selectionSet === fragment.selectionSet ? fragment : { ...fragment, selectionSet };
  }

  /** A fragment's selection set as it goes out: filtered, or as written when it could not be filtered (unknown type, cycle). */
  private fragmentOutput(name: string): SelectionSetNode | undefined {
    const filtered = this.filteredFragments.get(name);
    if (filtered) return filtered.selectionSet ?? undefined;
    return this.fragment(name)?.selectionSet;
  }

  private reachableFragments(selectionSet: SelectionSetNode): Set<string> {
    const reached = new Set<string>();
    const visit = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          const name = selection.name.value;
          const output = this.fragmentOutput(name);
          if (reached.has(name) || !output) continue;
          reached.add(name);
          visit(output);
        } else if (selection.selectionSet) {
          visit(selection.selectionSet);
        }
      }
    };
    visit(selectionSet);
    return reached;
  }

  /**
   * Adds `__citadel_typename: __typename` to every abstract selection set that held fragments in
   * the original document, so restore knows which fragments applied to each returned object.
   */
  private withTypenameAlias(selectionSet: SelectionSetNode, parentType: GraphQLCompositeType, typenameField: FieldNode): SelectionSetNode {
    const { selections } = selectionSet;
    let updated: SelectionNode[] | null = null;
    for (let i = 0; i < selections.length; i++) {
      const selection = selections[i]!;
      const withAlias = this.selectionWithTypenameAlias(selection, parentType, typenameField);
      if (withAlias !== selection) updated ??= selections.slice(0, i);
      updated?.push(withAlias);
    }
    const original = this.origin.get(selectionSet) ?? selectionSet;
    if (isAbstractType(parentType) && hasFragments(original)) (updated ??= [...selections]).push(typenameField);
    if (!updated) return selectionSet;
    const result: SelectionSetNode = { ...selectionSet, selections: updated };
    this.origin.set(result, original);
    return result;
  }

  private selectionWithTypenameAlias(selection: SelectionNode, parentType: GraphQLCompositeType, typenameField: FieldNode): SelectionNode {
    if (selection.kind === Kind.FRAGMENT_SPREAD) return selection;
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition?.name.value;
      const type = condition === undefined ? parentType : this.schema.getType(condition);
      if (!isCompositeType(type)) return selection;
      const selectionSet = this.withTypenameAlias(selection.selectionSet, type, typenameField);
      return selectionSet === selection.selectionSet ? selection : { ...selection, selectionSet };
    }
    if (!selection.selectionSet || selection.name.value.startsWith('__')) return selection;
    const field = isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[selection.name.value] : undefined;
    const type = field && getNamedType(field.type);
    if (!type || !isCompositeType(type)) return selection;
    const selectionSet = this.withTypenameAlias(selection.selectionSet, type, typenameField);
    return selectionSet === selection.selectionSet ? selection : { ...selection, selectionSet };
  }
}

const typenameFields = new Map<string, FieldNode>();

/** `<alias>: __typename`, one shared node per alias. */
function typenameFieldNode(alias: string): FieldNode {
  let field = typenameFields.get(alias);
  if (!field) {
    field = Object.freeze({
      kind: Kind.FIELD,
      alias: Object.freeze({ kind: Kind.NAME, value: alias }),
      name: Object.freeze({ kind: Kind.NAME, value: '__typename' }),
    });
    typenameFields.set(alias, field);
  }
  return field;
}

function unchanged(document: DocumentNode): FilterResult {
  return { document, unauthorizedPaths: [], deniedCoordinates: [], removed: new Map() };
}

function meetsAny(alternatives: readonly string[][], held: ReadonlySet<string> | readonly string[]): boolean {
  const has = isReadonlyArray(held) ? (item: string) => held.includes(item) : (item: string) => held.has(item);
  return alternatives.some((all) => all.every(has));
}

function isReadonlyArray(value: ReadonlySet<string> | readonly string[]): value is readonly string[] {
  return Array.isArray(value);
}

function isListOutput(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

function onlyTypenameOrFragments(selectionSet: SelectionSetNode | undefined): boolean {
  return (selectionSet?.selections ?? []).every(
    (selection) => selection.kind !== Kind.FIELD || selection.name.value === '__typename',
  );
}

function hasFragments(selectionSet: SelectionSetNode): boolean {
  return selectionSet.selections.some((selection) => selection.kind !== Kind.FIELD);
}

const typenameAliases = new WeakMap<DocumentNode, string>();

/**
 * The alias the filter gives its `__typename` in this document: TYPENAME_ALIAS, or when the client
 * uses that response key itself, the first `${TYPENAME_ALIAS}_<n>` it does not use. Never one of the
 * client's own keys, so the runtime type it carries can always be trusted and never changes their data.
 */
export function typenameAlias(document: DocumentNode): string {
  let alias = typenameAliases.get(document);
  if (alias === undefined) {
    const used = new Set<string>();
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) {
        collectAliases(definition.selectionSet, used);
      }
    }
    alias = TYPENAME_ALIAS;
    for (let n = 1; used.has(alias); n++) alias = `${TYPENAME_ALIAS}_${n}`;
    typenameAliases.set(document, alias);
  }
  return alias;
}

function collectAliases(selectionSet: SelectionSetNode, into: Set<string>): void {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD && selection.alias) into.add(selection.alias.value);
    if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) collectAliases(selection.selectionSet, into);
  }
}

function collectSelectionVariables(selectionSet: SelectionSetNode, into: Set<string>): void {
  for (const selection of selectionSet.selections) {
    collectDirectiveVariables(selection.directives, into);
    if (selection.kind === Kind.FIELD) {
      for (const argument of selection.arguments ?? []) collectValueVariables(argument.value, into);
    }
    if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) collectSelectionVariables(selection.selectionSet, into);
  }
}

function collectDirectiveVariables(directives: readonly DirectiveNode[] | undefined, into: Set<string>): void {
  for (const directive of directives ?? []) {
    for (const argument of directive.arguments ?? []) collectValueVariables(argument.value, into);
  }
}

function collectValueVariables(value: ValueNode, into: Set<string>): void {
  if (value.kind === Kind.VARIABLE) into.add(value.name.value);
  else if (value.kind === Kind.LIST) for (const item of value.values) collectValueVariables(item, into);
  else if (value.kind === Kind.OBJECT) for (const field of value.fields) collectValueVariables(field.value, into);
}
