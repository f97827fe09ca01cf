// Deployment files: docker-compose.yml as Docker Compose itself renders it, the Dockerfiles and the
// config/ files it uses, cross-checked against what each service's env.ts actually reads.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const COMPOSE_FILE = 'docker-compose.yml';
const ENV_EXAMPLE = 'config/citadel.env.example';
const SUBGRAPHS = readdirSync(join(ROOT, 'subgraphs'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, 'subgraphs', entry.name, 'src/env.ts')))
  .map((entry) => entry.name);

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  restart?: string;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  volumes?: (string | { type: string; source: string; target: string })[];
  ports?: unknown[];
}
interface Rendered {
  services: Record<string, Service>;
}

/** `docker compose` (the v2 plugin) when it answers, else Debian's standalone `docker-compose`. */
function findCompose(): string[] | undefined {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(command[0]!, [...command.slice(1), 'version'], { encoding: 'utf8' });
    if (probe.status === 0) return command;
  }
  return undefined;
}

const compose = findCompose();
if (!compose) {
  if (process.env.CITADEL_REQUIRE_COMPOSE === '1') throw new Error('CITADEL_REQUIRE_COMPOSE=1 but neither `docker compose` nor `docker-compose` runs');
  console.warn('docker-compose.yml not rendered: neither `docker compose` nor `docker-compose` is installed (apt-get install -y docker-compose)');
}

/** Runs `compose ... config` with only PATH and HOME, so the caller's shell cannot fill in a value. */
function renderCompose(envFile?: string): { status: number | null; stdout: string; stderr: string } {
  const args = [...compose!.slice(1), ...(envFile ? ['--env-file', envFile] : []), '-f', COMPOSE_FILE, 'config'];
  return spawnSync(compose![0]!, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
}

/** `NAME: zod…` lines of a service's env.ts: the variables it reads, with their declarations. */
function declaredVariables(envFile: string): Map<string, string> {
  const declared = new Map<string, string>();
  for (const match of read(envFile).matchAll(/^\s+([A-Z][A-Z0-9_]*): (.+)$/gm)) declared.set(match[1]!, match[2]!);
  return declared;
}
/** The OpenTelemetry variables every service reads through @citadel/kit/telemetry. */
const TELEMETRY_VARIABLES = [...declaredVariables('packages/kit/src/telemetry.ts').keys()];
/** Unset they are refused at start-up with NODE_ENV=production (README, "Settings"). */
const REQUIRED_IN_PRODUCTION = /(_PRIVATE_KEY|^REFRESH_TOKEN_KEY|^MFA_ENCRYPTION_KEY|^SMTP_URL)$/;

/** The source file a service's image runs: the last `CMD ["node", "--import", "tsx", <file>]`. */
function entryOf(dockerfile: string): string | undefined {
  const cmds = [...read(dockerfile).matchAll(/^CMD \[(.+)\]$/gm)];
  const last = cmds.at(-1)?.[1];
  return last ? (JSON.parse(`[${last}]`) as string[]).at(-1) : undefined;
}
/** The env.ts of the code an entry point starts. */
function envFileOf(entry: string): string {
  return entry === 'scripts/migrate.ts' ? 'scripts/launcher-env.ts' : entry.replace(/main\.ts$/, 'env.ts');
}
const portOf = (subgraph: string) => {
  const declaration = declaredVariables(`subgraphs/${subgraph}/src/env.ts`).get(`${subgraph.toUpperCase()}_PORT`);
  return Number(/port\((\d+)\)/.exec(declaration ?? '')?.[1]);
};
const list = (value: string | null | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);

describe('deployment files, without Docker Compose', () => {
  const raw = read(COMPOSE_FILE);
  const example = read(ENV_EXAMPLE);

  it('parses every YAML file under config/ and the compose file', () => {
    const files = readdirSync(join(ROOT, 'config')).filter((f) => /\.ya?ml$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['otel-collector.yaml', 'prometheus.yml']));
    for (const file of [...files.map((f) => `config/${f}`), COMPOSE_FILE]) {
      expect(() => parse(read(file), { merge: true }), file).not.toThrow();
    }
  });

  it('sends traces from OTLP through a batch to Jaeger, with the health endpoint the healthcheck probes', () => {
    const collector = parse(read('config/otel-collector.yaml')) as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: Record<string, { endpoint: string }>;
      extensions: { health_check: { endpoint: string } };
      service: { extensions: string[]; pipelines: { traces: { receivers: string[]; processors: string[]; exporters: string[] } } };
    };
    expect(collector.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    const { traces } = collector.service.pipelines;
    expect(traces.receivers).toEqual(['otlp']);
    expect(traces.processors).toContain('batch');
    expect(traces.exporters.map((name) => collector.exporters[name]?.endpoint)).toEqual(['jaeger:4317']);
    expect(collector.service.extensions).toContain('health_check');
    expect(collector.extensions.health_check.endpoint).toMatch(/:13133$/);
    expect(raw).toContain('http://127.0.0.1:13133/');
  });

  it('marks where `npm run new:subgraph` inserts a service and a scrape target', () => {
    const lines = raw.split('\n');
    const marker = lines.indexOf('  # new:subgraph inserts services above this line');
    expect(marker).toBeGreaterThan(0);
    // Right after the last subgraph's block: no other service starts between them.
    const lastSubgraph = Math.max(...SUBGRAPHS.map((name) => lines.indexOf(`  ${name}:`)));
    expect(lines.slice(lastSubgraph + 1, marker).filter((line) => /^ {2}[a-z][\w-]*:/.test(line))).toEqual([]);
    const prometheus = read('config/prometheus.yml').split('\n');
    const targetMarker = prometheus.findIndex((line) => line.trim() === '# new:subgraph inserts targets above this line');
    expect(targetMarker).toBeGreaterThan(0);
    const lastTarget = Math.max(...SUBGRAPHS.map((name) => prometheus.findIndex((line) => line.trim() === `- ${name}:${portOf(name)}`)));
    expect(lastTarget).toBe(targetMarker - 1);
    expect(prometheus[targetMarker]!.indexOf('#')).toBe(prometheus[lastTarget]!.indexOf('-'));
  });

  it('documents every value compose fills in from config/citadel.env in the example, with no secret in it', () => {
    const interpolated = new Set([...raw.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
    expect([...interpolated].filter((name) => !documented.has(name))).toEqual([]);
    for (const name of interpolated) {
      if (REQUIRED_IN_PRODUCTION.test(name) || name === 'POSTGRES_PASSWORD') {
        // Mandatory in compose (`${NAME?…}`), and empty in the example: nothing to copy into production.
        expect(raw, name).toMatch(new RegExp(`\\$\\{${name}\\?`));
        expect(example, name).toMatch(new RegExp(`^${name}=$`, 'm'));
      }
    }
    expect(example).not.toMatch(/BEGIN PRIVATE KEY/);
  });

  it('keeps secrets and local state out of every image', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['**/node_modules', '.data', '.env', 'config/*.env', '.git']) expect(ignored).toContain(entry);
  });
});

describe.skipIf(!compose)('docker-compose.yml as Docker Compose renders it', () => {
  let services: Record<string, Service> = {};
  let names: string[] = [];
  /** The services running this repository's code (built from a Dockerfile whose CMD starts a .ts file). */
  let nodeServices: string[] = [];
  let gateways: string[] = [];
  beforeAll(() => {
    const result = renderCompose(ENV_EXAMPLE);
    expect(result.status, result.stderr).toBe(0);
    services = (parse(result.stdout) as Rendered).services;
    names = Object.keys(services);
    nodeServices = names.filter((name) => services[name]!.build && entryOf(services[name]!.build!.dockerfile!));
    gateways = names.filter((name) => /^gateway-\d+$/.test(name));
  });

  it('refuses to render without config/citadel.env, naming the missing setting and the file', () => {
    const result = renderCompose();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/set [A-Z_]+ in config\/citadel\.env/);
  });

  it('has the platform: PostgreSQL, Redis, a migration job, every subgraph, gateways behind a balancer, the web app, tracing and metrics', () => {
    for (const name of ['postgres', 'redis', 'migrate', ...SUBGRAPHS, 'gateway-1', 'gateway-2', 'lb', 'web', 'otel-collector', 'jaeger', 'prometheus']) {
      expect(names).toContain(name);
    }
    expect(nodeServices.sort()).toEqual(['migrate', ...SUBGRAPHS, ...gateways].sort());
  });

  it('gives every service a healthcheck, except the one-shot migration job that the others wait for', () => {
    for (const name of names) {
      const service = services[name]!;
      if (service.restart === 'no') {
        expect(service.healthcheck, name).toBeUndefined();
        const waiting = names.filter((other) => services[other]!.depends_on?.[name]?.condition === 'service_completed_successfully');
        expect(waiting.length, `${name} is one-shot, so something must wait for it`).toBeGreaterThan(0);
        continue;
      }
      const test = service.healthcheck?.test;
      expect(service.healthcheck?.disable, name).not.toBe(true);
      expect(Array.isArray(test) ? test[0] : test, `${name} has a healthcheck`).toMatch(/^CMD/);
    }
  });

  it('probes each Citadel service on its own /health/ready port', () => {
    for (const name of nodeServices.filter((n) => n !== 'migrate')) {
      const env = services[name]!.environment!;
      const port = Object.entries(env).find(([key]) => key.endsWith('_PORT'))?.[1];
      expect(JSON.stringify(services[name]!.healthcheck!.test), name).toContain(`http://127.0.0.1:${port}/health/ready`);
    }
  });

  it('starts subgraphs and gateways only after the migrations completed successfully, with PostgreSQL and Redis healthy', () => {
    expect(services.migrate!.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(entryOf(services.migrate!.build!.dockerfile!)).toBe('scripts/migrate.ts');
    for (const name of [...SUBGRAPHS, ...gateways]) {
      const dependsOn = services[name]!.depends_on ?? {};
      expect(dependsOn.migrate?.condition, name).toBe('service_completed_successfully');
      expect(dependsOn.postgres?.condition, name).toBe('service_healthy');
      expect(dependsOn.redis?.condition, name).toBe('service_healthy');
    }
  });

  it('runs two identical gateway replicas behind a balancer that proxies HTTP and graphql-ws to both', () => {
    expect(gateways).toEqual(['gateway-1', 'gateway-2']);
    const [first, second] = gateways.map((name) => services[name]!);
    expect(second).toEqual(first);
    for (const name of SUBGRAPHS) expect(first!.depends_on?.[name]?.condition).toBe('service_healthy');

    const lb = services.lb!;
    expect(lb.ports?.length).toBeGreaterThan(0);
    for (const gateway of gateways) expect(lb.depends_on?.[gateway]?.condition).toBe('service_healthy');
    const mounted = (lb.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0]! : v.source));
    const conf = mounted.map((source) => relative(ROOT, source)).find((path) => path.startsWith('config/'));
    expect(conf).toBe('config/lb.nginx.conf');
    for (const file of [conf!, 'config/web.nginx.conf']) {
      const text = read(file);
      for (const gateway of gateways) expect(text, file).toMatch(new RegExp(`server ${gateway}:4000\\b`));
      expect(text, file).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
      expect(text, file).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
      expect(text, file).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
      expect(text, file).toMatch(/proxy_read_timeout 1h;/);
    }
    // One proxy in front: the gateway takes the client IP from the last X-Forwarded-For entry.
    expect(first!.environment!.TRUSTED_PROXY_HOPS).toBe('1');
    expect(read('clients/web/Dockerfile')).toContain('COPY config/web.nginx.conf /etc/nginx/conf.d/default.conf');
  });

  it('wires every subgraph in subgraphs/: its own image, routing URL at the gateway, service trust at authz and audit, a scrape target', () => {
    const gateway = services['gateway-1']!.environment!;
    const prometheus = read('config/prometheus.yml');
    for (const name of SUBGRAPHS) {
      const port = portOf(name);
      expect(port, name).toBeGreaterThan(0);
      const service = services[name]!;
      expect(service.build?.dockerfile, name).toBe(`subgraphs/${name}/Dockerfile`);
      expect(entryOf(service.build!.dockerfile!), name).toBe(`subgraphs/${name}/src/main.ts`);
      expect(service.environment?.[`${name.toUpperCase()}_PORT`], name).toBe(String(port));
      expect(gateway[`SUBGRAPH_${name.toUpperCase()}_URL`], name).toBe(`http://${name}:${port}/graphql`);
      for (const trusting of ['authz', 'audit'].filter((t) => t !== name)) {
        expect(list(services[trusting]!.environment!.SERVICE_JWKS_URLS), `${trusting} trusts ${name}`).toContain(`${name}=http://${name}:${port}/.well-known/jwks.json`);
      }
      expect(prometheus, name).toContain(`- ${name}:${port}`);
    }
    for (const gatewayName of gateways) expect(prometheus).toContain(`- ${gatewayName}:4000`);
  });

  it('sets every variable a service needs in production, and none that it does not read', () => {
    for (const name of nodeServices) {
      const env = services[name]!.environment ?? {};
      const envFile = envFileOf(entryOf(services[name]!.build!.dockerfile!)!);
      const declared = declaredVariables(envFile);
      expect(declared.size, envFile).toBeGreaterThan(0);
      const known = (key: string) => declared.has(key) || TELEMETRY_VARIABLES.includes(key) || (gateways.includes(name) && /^SUBGRAPH_[A-Z0-9_]+_URL$/.test(key));
      expect(Object.keys(env).filter((key) => !known(key)), `${name} sets variables ${envFile} does not read`).toEqual([]);

      expect(env.NODE_ENV, name).toBe('production');
      if (name === 'migrate') {
        // launcher-env.ts is the launcher's too: the migration job needs only the database.
        expect(env.DATABASE_URL, name).toMatch(/^postgres:\/\/citadel:@postgres:5432\/citadel$/);
        continue;
      }
      for (const [key, declaration] of declared) {
        const why = `${name}: ${key} (${envFile})`;
        if (declaration.startsWith('postgresUrl')) expect(env[key], why).toMatch(/^postgres:\/\/citadel:@postgres:5432\/citadel$/);
        if (REQUIRED_IN_PRODUCTION.test(key)) expect(Object.keys(env), why).toContain(key);
        if (key === 'REDIS_URL') expect(env[key], why).toBe('redis://redis:6379');
        // A default that points at this machine is right for `npm start` and wrong in a container
        // (APP_URL is the address people open in a browser, not one a container calls).
        if (/127\.0\.0\.1|localhost/.test(declaration) && key !== 'APP_URL') {
          expect(env[key], why).toBeTruthy();
          expect(env[key], why).not.toMatch(/127\.0\.0\.1|localhost/);
        }
        if (key.endsWith('_HOST')) expect(env[key], why).toBe('0.0.0.0');
      }
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe('http://otel-collector:4318');
      expect(TELEMETRY_VARIABLES).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    }
    // Subgraphs verify internal tokens against the gateways' shared key, reached through the balancer.
    for (const name of SUBGRAPHS) expect(services[name]!.environment!.INTERNAL_JWKS_URL, name).toBe('http://lb/.well-known/jwks.json');
  });

  it('mounts and builds only files that exist', () => {
    for (const name of names) {
      const service = services[name]!;
      if (service.build) {
        expect(existsSync(join(service.build.context, service.build.dockerfile ?? 'Dockerfile')), `${name} Dockerfile`).toBe(true);
      } else {
        expect(service.image, `${name} is built or pulled`).toMatch(/^[\w./-]+:[\w.-]+$/);
      }
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.source;
        if (isAbsolute(source)) expect(existsSync(source), `${name} mounts ${source}`).toBe(true);
      }
    }
  });

  it('builds each image in stages: dependencies with compilers and install scripts, then a slim runtime', () => {
    const dockerfiles = new Set(names.flatMap((name) => (services[name]!.build ? [services[name]!.build!.dockerfile!] : [])));
    expect([...dockerfiles].sort()).toEqual(
      ['migrations/Dockerfile', ...SUBGRAPHS.map((n) => `subgraphs/${n}/Dockerfile`), 'gateway/Dockerfile', 'clients/web/Dockerfile', 'config/otel-collector.Dockerfile'].sort(),
    );
    for (const dockerfile of dockerfiles) {
      const text = read(dockerfile);
      const stages = [...text.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)];
      expect(stages.length, dockerfile).toBeGreaterThanOrEqual(2);
      expect(stages.at(-1)![2], dockerfile).toBe('runtime');
      expect(text, dockerfile).not.toContain('--ignore-scripts');
    }
    for (const name of nodeServices) {
      const text = read(services[name]!.build!.dockerfile!);
      expect(text, name).toMatch(/^RUN npm ci --omit=dev/m);
      expect(text, name).toMatch(/^ARG NODE_RUNTIME_IMAGE=node:20-bookworm-slim$/m);
      expect(text.split(/^FROM /m).at(-1), name).toMatch(/^USER node$/m);
    }
  });
});
