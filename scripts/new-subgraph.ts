// `npm run new:subgraph -- <name> [--entity <name>] [--port <port>] [--no-compose]`: writes a
// working feature subgraph (docs/adding-a-subgraph.md), registers it in scripts/subgraphs.ts (the
// launchers, migrations and composition read that list), README's settings, docker-compose.yml,
// config/prometheus.yml and config/citadel.env.example, then composes schema/. Nothing is left
// behind when a step fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildSchema, type GraphQLSchema } from 'graphql';
import { FEATURE_SUBGRAPHS, featureSettings, SUBGRAPHS } from './subgraphs';
import { subgraphFiles, type SubgraphNames } from './templates/subgraph-files';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Names taken by the platform's own parts, folders and PostgreSQL's schemas. */
export const RESERVED = new Set(['identity', 'authz', 'audit', 'gateway', 'kit', 'web', 'cli', 'schema', 'schemas', 'public', 'information_schema', 'migrations', 'scripts', 'packages', 'subgraphs', 'clients', 'e2e', 'bench', 'docs', 'config', 'test', 'node_modules', 'launcher', 'all', 'outbox']);

const NAME = /^[a-z][a-z0-9]{1,29}$/;
const ENTITY = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const REGISTRY_MARKER = '  // new:subgraph inserts feature subgraphs above this line';
export const COMPOSE_MARKER = '  # new:subgraph inserts services above this line';
export const PROMETHEUS_MARKER = '# new:subgraph inserts targets above this line';

export class UsageError extends Error {}

/** Why `name` cannot be a new subgraph in the repository at `root`, or null when it can. */
export function nameProblem(name: string, root: string = ROOT): string | null {
  if (name.includes('-') || name.includes('_')) {
    return `"${name}": use lower-case letters and digits only, e.g. "${name.replace(/[-_]/g, '')}" (the name is also a PostgreSQL schema, the prefix of ${name.toUpperCase().replace(/-/g, '_')}_PORT and the gateway's SUBGRAPH_<NAME>_URL)`;
  }
  if (!NAME.test(name)) return `"${name}": a subgraph name is 2 to 30 lower-case letters and digits, starting with a letter`;
  if (RESERVED.has(name)) return `"${name}" is reserved; choose another name`;
  if (FEATURE_SUBGRAPHS.some((s) => s.name === name) || SUBGRAPHS.some((s) => s.name === name)) return `subgraph "${name}" exists already (scripts/subgraphs.ts)`;
  for (const dir of [`subgraphs/${name}`, `migrations/${name}`]) if (existsSync(join(root, dir))) return `${dir} exists already; remove it or choose another name`;
  return null;
}

/** The entity a subgraph holds by default: `projects` holds `project`, `inventory` holds `inventory-item`. */
export function defaultEntity(name: string): string {
  return name.length > 3 && name.endsWith('s') && !name.endsWith('ss') ? name.slice(0, -1) : `${name}-item`;
}

/** The next default port after every subgraph's (the gateway keeps 4000). */
export function nextPort(): number {
  return Math.max(4000, ...SUBGRAPHS.map((s) => s.port)) + 1;
}

/** Identifiers the generated files use besides the entity's own: an entity named like one would shadow it. */
const TAKEN_IDENTIFIERS = new Set(['Record', 'Partial', 'Pick', 'Omit', 'Readonly', 'Required', 'Page', 'Outbox', 'OutboxRelay', 'EntityManager', 'EntitySchema', 'Migration', 'ConnectionType', 'EdgeType', 'Field', 'ObjectType', 'InputType', 'Arg', 'Ctx', 'Directive', 'Int', 'ID', 'Mutation', 'Query', 'Resolver']);

/** Why `entity` cannot be the new subgraph's entity, or null when it can. */
export function entityProblem(entity: string): string | null {
  if (!ENTITY.test(entity)) return `--entity "${entity}": lower-case words joined by "-", e.g. "support-ticket"`;
  const Entity = pascal(entity);
  if (Object.prototype.hasOwnProperty.call(globalThis, Entity) || TAKEN_IDENTIFIERS.has(Entity)) return `--entity "${entity}": ${Entity} is a name the generated code uses already; choose another`;
  return null;
}

const pascal = (kebab: string) => kebab.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
const camel = (kebab: string) => pascal(kebab).charAt(0).toLowerCase() + pascal(kebab).slice(1);

export function subgraphNames(name: string, entity: string, port: number, now = new Date()): SubgraphNames {
  const Entity = pascal(entity);
  return {
    name,
    Name: pascal(name),
    NAME: name.toUpperCase(),
    port,
    entity,
    Entity,
    entityCamel: camel(entity),
    entityLabel: entity.replace(/-/g, ' '),
    table: `${entity.replace(/-/g, '_')}s`,
    entityDir: `${entity}s`,
    listField: camel(name),
    createField: `create${Entity}`,
    timestamp: now.toISOString().replace(/\D/g, '').slice(0, 14),
  };
}

/** What the new schema would clash with in the composed API schema (composition would refuse it). */
export function schemaClashes(api: GraphQLSchema, n: SubgraphNames): string[] {
  const clashes: string[] = [];
  for (const type of [n.Entity, `${n.Entity}Edge`, `${n.Entity}Connection`, `Create${n.Entity}Input`]) if (api.getType(type)) clashes.push(`type ${type}`);
  if (api.getQueryType()?.getFields()[n.listField]) clashes.push(`Query.${n.listField}`);
  if (api.getMutationType()?.getFields()[n.createField]) clashes.push(`Mutation.${n.createField}`);
  return clashes;
}

/** The entry `npm run new:subgraph` adds to FEATURE_SUBGRAPHS. */
export function registryEntry(n: SubgraphNames): string {
  const schema = `../subgraphs/${n.name}/src/schema`;
  return [
    '  {',
    `    name: '${n.name}',`,
    `    port: ${n.port},`,
    `    schema: async (unusable) => (await import('${schema}')).build${n.Name}Schema(unusable()),`,
    `    database: async () => (await import('${schema}')).database,`,
    '  },',
    '',
  ].join('\n');
}

/** README's settings row for the new subgraph, after the last `<X>_HOST`, `<X>_PORT` row. */
export function withSettingsRow(readme: string, n: SubgraphNames): string | null {
  const lines = readme.split('\n');
  const last = lines.findLastIndex((line) => /^\| `[A-Z0-9_]+_HOST`, `[A-Z0-9_]+_PORT` \|/.test(line));
  if (last < 0) return null;
  const s = featureSettings(n.name);
  lines.splice(last + 1, 0, `| \`${s.host}\`, \`${s.port}\`, \`${s.privateKey}\` | ${n.name}, launcher | \`127.0.0.1\`, \`${n.port}\`, unset | where ${n.name} listens, and its Ed25519 PKCS#8 PEM key (required in production) |`);
  return lines.join('\n');
}

/** A line (or file) of the workspaces subgraph's, renamed to the new subgraph. */
export function renamed(text: string, n: SubgraphNames): string {
  return text.replace(/workspaces/g, n.name).replace(/WORKSPACES/g, n.NAME).replace(/Workspaces/g, n.Name).replace(/\b4004\b/g, String(n.port));
}

/**
 * Inserts above `marker` a renamed copy of the workspaces block: the first line matching `start`
 * and the lines after it indented deeper. Null when the file has no marker or no such block.
 */
export function withCopiedBlock(text: string, marker: string, start: RegExp, n: SubgraphNames, drop?: RegExp): string | null {
  const lines = text.split('\n');
  const at = lines.findIndex((line) => line.trim() === marker.trim());
  const first = lines.findIndex((line) => start.test(line));
  if (at < 0 || first < 0) return null;
  const indent = (line: string) => line.length - line.trimStart().length;
  let end = first + 1;
  while (end < lines.length && lines[end]!.trim() !== '' && indent(lines[end]!) > indent(lines[first]!) && !lines[end]!.includes('new:subgraph')) end++;
  const block = lines.slice(first, end).filter((line) => !drop?.test(line)).map((line) => renamed(line, n));
  // Blocks separated by blank lines stay so; list items (prometheus targets) stay together.
  lines.splice(at, 0, ...block, ...(lines[at - 1]?.trim() === '' ? [''] : []));
  return lines.join('\n');
}

/**
 * docker-compose.yml with the new service (a copy of workspaces' above the marker) and the new
 * subgraph wherever workspaces is listed as a feature subgraph: the gateways' routing URLs and
 * dependencies, and the SERVICE_JWKS_URLS of the services every subgraph calls (the lists that
 * also name identity; identity's own list names only workspaces, for lookups by email).
 */
export function withComposeService(text: string, n: SubgraphNames): string | null {
  // IDENTITY_URL: only workspaces looks accounts up by email.
  const withBlock = withCopiedBlock(text, COMPOSE_MARKER, /^ {2}workspaces:\s*$/, n, /^\s+IDENTITY_URL:/);
  if (withBlock === null) return null;
  const lines = withBlock.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    out.push(line);
    if (/^\s+SUBGRAPH_WORKSPACES_URL: /.test(line)) out.push(renamed(line, n));
    else if (/^\s+workspaces=\S+jwks\.json,?\s*$/.test(line) && jwksList(lines, i).some((entry) => entry.startsWith('identity='))) out.push(renamed(line, n));
    else if (/^\s+workspaces:\s*$/.test(line) && /^\s+condition: service_healthy\s*$/.test(lines[i + 1] ?? '')) {
      out.push(lines[++i]!, renamed(line, n), lines[i]!);
    }
  }
  return out.join('\n');
}

/** The `name=url` entries of the folded SERVICE_JWKS_URLS list that line `at` is in. */
function jwksList(lines: string[], at: number): string[] {
  const entry = /^\s+([a-z0-9]+=\S+)\s*$/;
  let first = at;
  while (first > 0 && entry.test(lines[first - 1]!)) first--;
  let last = at;
  while (last + 1 < lines.length && entry.test(lines[last + 1]!)) last++;
  return lines.slice(first, last + 1).map((line) => line.trim());
}

/** config/citadel.env.example with the new subgraph's key after workspaces'. */
export function withPrivateKeySetting(text: string, n: SubgraphNames): string | null {
  return /^WORKSPACES_PRIVATE_KEY=.*$/m.test(text) ? text.replace(/^WORKSPACES_PRIVATE_KEY=.*$/m, (line) => `${line}\n${n.NAME}_PRIVATE_KEY=`) : null;
}

/** The new subgraph's Dockerfile: workspaces', renamed. */
export function dockerfile(workspaces: string, n: SubgraphNames): string {
  return renamed(workspaces.replace(/ \(the feature-subgraph pattern[^)]*\)/, ''), n);
}

interface Options {
  name: string;
  entity: string;
  port: number;
  /** Run `npm run compose` at the end (`--no-compose` leaves it to the user). */
  compose: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { entity: { type: 'string' }, port: { type: 'string' }, 'no-compose': { type: 'boolean' } } });
  const [name, ...rest] = positionals;
  if (!name || rest.length > 0) throw new UsageError('Usage: npm run new:subgraph -- <name> [--entity <entity-name>] [--port <port>] [--no-compose]');
  const problem = nameProblem(name);
  if (problem) throw new UsageError(problem);
  const entity = values.entity ?? defaultEntity(name);
  const entityIssue = entityProblem(entity);
  if (entityIssue) throw new UsageError(entityIssue);
  const port = values.port === undefined ? nextPort() : Number(values.port);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) throw new UsageError(`--port "${values.port}": a port from 1024 to 65535`);
  if (SUBGRAPHS.some((s) => s.port === port) || port === 4000) throw new UsageError(`--port ${port} is another service's default`);
  return { name, entity, port, compose: !values['no-compose'] };
}

/** Writes and registers the subgraph under `root`; on any failure restores what it changed. */
export function generate(root: string, options: Options, log: (line: string) => void): SubgraphNames {
  const n = subgraphNames(options.name, options.entity, options.port);
  const apiPath = join(root, 'schema/api.graphql');
  if (existsSync(apiPath)) {
    const clashes = schemaClashes(buildSchema(readFileSync(apiPath, 'utf8'), { assumeValidSDL: true }), n);
    if (clashes.length > 0) throw new UsageError(`The supergraph has ${clashes.join(', ')} already: pass another --entity (and name)`);
  }
  const originals = new Map<string, string>();
  const created = [`subgraphs/${n.name}`, `migrations/${n.name}`];
  const edit = (path: string, change: (text: string) => string | null, missing: string) => {
    const full = join(root, path);
    const text = existsSync(full) ? readFileSync(full, 'utf8') : null;
    const next = text === null ? null : change(text);
    if (text === null || next === null) return log(`  skipped ${path}: ${missing}`);
    originals.set(full, text);
    writeFileSync(full, next);
    log(`  updated ${path}`);
  };
  try {
    for (const [path, text] of subgraphFiles(n)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
      log(`  wrote   ${path}`);
    }
    edit('scripts/subgraphs.ts', (text) => (text.includes(REGISTRY_MARKER) ? text.replace(REGISTRY_MARKER, `${registryEntry(n)}${REGISTRY_MARKER}`) : null), 'its marker line is gone');
    const registry = readFileSync(join(root, 'scripts/subgraphs.ts'), 'utf8');
    if (!registry.includes(`name: '${n.name}'`)) throw new Error(`scripts/subgraphs.ts has no "${REGISTRY_MARKER.trim()}" line: add the entry by hand (docs/adding-a-subgraph.md)`);
    edit('README.md', (text) => withSettingsRow(text, n), 'no `<X>_HOST`, `<X>_PORT` row in its settings table');
    edit('docker-compose.yml', (text) => withComposeService(text, n), 'no workspaces service or marker line');
    edit('config/prometheus.yml', (text) => withCopiedBlock(text, PROMETHEUS_MARKER, /^\s+- workspaces:\d+\s*$/, n), 'no workspaces target or marker line');
    edit('config/citadel.env.example', (text) => withPrivateKeySetting(text, n), 'no WORKSPACES_PRIVATE_KEY line');
    const model = join(root, 'subgraphs/workspaces/Dockerfile');
    if (existsSync(model)) {
      writeFileSync(join(root, `subgraphs/${n.name}/Dockerfile`), dockerfile(readFileSync(model, 'utf8'), n));
      log(`  wrote   subgraphs/${n.name}/Dockerfile`);
    }
    if (options.compose) {
      log('  composing schema/ (npm run compose)');
      const composed = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compose.ts'], { cwd: root, encoding: 'utf8' });
      if (composed.status !== 0) throw new Error(`npm run compose failed:\n${composed.stderr || composed.stdout}`);
    }
    return n;
  } catch (error) {
    for (const dir of created) rmSync(join(root, dir), { recursive: true, force: true });
    for (const [path, text] of originals) writeFileSync(path, text);
    throw error;
  }
}

function nextSteps(n: SubgraphNames): string {
  return `
Subgraph "${n.name}" is ready: ${n.listField} and ${n.createField} (permissions ${n.name}.${n.entity}.read and .create, held by every account), port ${n.port}.

Next:
  npm install                                   records the new workspace (@citadel/${n.name}) in package-lock.json
  npx vitest run subgraphs/${n.name}            its integration test, on real PostgreSQL
  npm start                                     ${n.name} starts with the platform; try { ${n.listField} { totalCount } } in the explorer
  git add subgraphs/${n.name} migrations/${n.name} schema scripts/subgraphs.ts README.md docker-compose.yml config package-lock.json

Then make it yours (docs/adding-a-subgraph.md): fields in ${n.entityDir}/${n.entity}.entity.ts with a new migration,
error codes in docs/errors.md, the ${n.name}.${n.entity}.created action in docs/audit.md, and npm run compose after schema changes.
`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  process.stdout.write(`Creating subgraph ${options.name}\n`);
  const n = generate(ROOT, options, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(nextSteps(n));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof UsageError ? '' : 'new:subgraph failed: '}${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
