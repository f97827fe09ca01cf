// Load driver, run as its own process (bench/load.ts starts it) so the platform and the harness's
// bookkeeping do not share its CPU time: autocannon at fixed connections for a fixed time, after a
// warm-up, checking every response body. Reads its job as JSON in argv[2]; prints figures as JSON.
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

export interface DriverJob {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Per connection: connection i adds headerSets[i % length] to `headers` (distinct callers). */
  headerSets?: Record<string, string>[];
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /**
   * What a correct answer is: `equals`, compact JSON every response must parse to exactly; or
   * `matches`, a pattern for answers that differ each time (tokens), with no `errors` in them.
   */
  expect: { equals: string } | { matches: string };
}

export interface DriverFigures {
  requests: number;
  rps: number;
  /** Latency percentiles over every response, ms. */
  p50: number;
  p95: number;
  p99: number;
  /** Non-2xx answers, transport errors and timeouts. */
  errors: number;
  /** 2xx answers that were not the expected data (GraphQL errors, nulls). */
  wrongBodies: number;
  /** The first wrong body, trimmed, so a report can say what went wrong. */
  sample?: string;
}

// autocannon ships no types: the part of its API used here.
interface AutocannonResult {
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
}
interface AutocannonOptions {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  verifyBody: (body: string) => boolean;
  setupClient?: (client: { setHeaders(headers: Record<string, string>): void }) => void;
}
type Autocannon = (options: AutocannonOptions, done: (error: Error | null, result: AutocannonResult) => void) => EventEmitter;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const job = JSON.parse(process.argv[2]!) as DriverJob;
let sample: string | undefined;
const pattern = 'matches' in job.expect ? new RegExp(job.expect.matches) : undefined;
const equals = 'equals' in job.expect ? job.expect.equals : undefined;
const correct = (body: string) => {
  let ok = false;
  try {
    ok = pattern ? pattern.test(body) && !('errors' in (JSON.parse(body) as object)) : JSON.stringify(JSON.parse(body)) === equals;
  } catch {
    // not JSON: wrong
  }
  if (!ok) sample ??= body.slice(0, 300);
  return ok;
};

function run(seconds: number, latencies: number[]): Promise<AutocannonResult> {
  const headers = { 'content-type': 'application/json', ...job.headers };
  let clients = 0;
  const sets = job.headerSets;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        method: 'POST',
        headers,
        body: job.body,
        connections: job.connections,
        duration: seconds,
        verifyBody: correct,
        ...(sets?.length ? { setupClient: (client) => client.setHeaders({ ...headers, ...sets[clients++ % sets.length] }) } : {}),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => void latencies.push(ms));
  });
}

if (job.warmupSeconds > 0) await run(job.warmupSeconds, []);
sample = undefined;
process.stderr.write('measuring\n'); // bench/load.ts's hooks: the measured part starts now
const latencies: number[] = [];
const result = await run(job.seconds, latencies);
process.stderr.write('measured\n');
latencies.sort((a, b) => a - b);
const at = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0) * 100) / 100;
const figures: DriverFigures = {
  requests: latencies.length,
  rps: Math.round((latencies.length / (result.duration || job.seconds)) * 10) / 10,
  p50: at(50),
  p95: at(95),
  p99: at(99),
  errors: result.non2xx + result.errors + result.timeouts,
  wrongBodies: result.mismatches,
  ...(sample ? { sample } : {}),
};
process.stdout.write(`${JSON.stringify(figures)}\n`);
