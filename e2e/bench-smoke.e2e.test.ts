// `npm run bench` must not rot: its smoke mode (every scenario for a few seconds, tiny sizes, no
// thresholds) runs here end to end, and every scenario has to produce sane figures with no errors.
// No timing is asserted: performance belongs to the bench's own report.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@citadel/kit/paths';
import type { Results } from '../bench/report';

let dir: string;
let run: { code: number | null; output: string };
let results: Results;
const committed = () => (existsSync(join(REPO_ROOT, 'bench/results')) ? readdirSync(join(REPO_ROOT, 'bench/results')) : []);
let committedBefore: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citadel-bench-smoke-'));
  committedBefore = committed();
  run = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke'], {
      cwd: REPO_ROOT,
      env: { ...process.env, BENCH_RESULTS_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
  const files = readdirSync(dir);
  if (files.length === 1) results = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as Results;
}, 900_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench in smoke mode', () => {
  it('finishes, prints the table, and writes its JSON to BENCH_RESULTS_DIR only', () => {
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('| Citadel (auth on) |');
    expect(readdirSync(dir)).toEqual([`${results.date}-smoke.json`]);
    expect(committed()).toEqual(committedBefore);
    expect(results.mode).toBe('smoke');
    expect(results.machine.cpus).toBeGreaterThan(0);
  });

  it.each(['sameCaller', 'distinctCallers'] as const)('(a)/(b) drives the federated query through all three gateways with correct answers only (%s)', (mix) => {
    expect(results.federated.answer.workspaces).toBeGreaterThan(0);
    expect(results.federated.answer.todos).toBeGreaterThan(0);
    expect(Object.keys(results.federated[mix]).sort()).toEqual(['apollo', 'citadel', 'hive']);
    for (const [name, g] of Object.entries(results.federated[mix])) {
      expect({ name, errors: g.errors, wrongBodies: g.wrongBodies, sample: g.sample }).toEqual({ name, errors: 0, wrongBodies: 0, sample: undefined });
      expect(g.requests, name).toBeGreaterThan(0);
      expect(g.rps, name).toBeGreaterThan(0);
      expect(g.p50, name).toBeGreaterThan(0);
      expect(g.p99, name).toBeGreaterThanOrEqual(g.p50);
      expect(g.peakRssMib, name).toBeGreaterThan(10);
    }
    expect(results.ratios.citadelRpsOverApollo).toBeGreaterThan(0);
    expect(results.ratios.citadelRpsOverHive).toBeGreaterThan(0);
    expect(results.ratios.distinctCallers.citadelRpsOverHive).toBeGreaterThan(0);
  });

  it('(c) times the protected query with enforcement on, off and denied', () => {
    for (const series of [results.authorization.on, results.authorization.off, results.authorization.denied]) {
      expect(series.n).toBe(results.settings.authzQueries);
      expect(series.p50).toBeGreaterThan(0);
    }
    expect(Number.isFinite(results.ratios.authorizationOverheadPercent)).toBe(true);
  });

  it('(d) logs in under load with every answer a token', () => {
    expect(results.login.rps).toBeGreaterThan(0);
    expect(results.login.errors + results.login.wrongBodies).toBe(0);
  });

  it('(e) delivers every event to every subscriber', () => {
    expect(results.subscriptions.length).toBeGreaterThan(0);
    for (const s of results.subscriptions) {
      expect(s.delivered).toBe(s.expected);
      expect(s.delivery.p99).toBeGreaterThan(0);
    }
  });

  it('(f) counts statements for three list sizes, growing lists', () => {
    const sizes = results.statements.map((s) => s.size);
    expect(sizes).toHaveLength(3);
    expect([...sizes].sort((a, b) => a - b)).toEqual(sizes);
    expect(sizes[0]).toBeLessThan(sizes[2]!);
    for (const s of results.statements) expect(s.statements).toBeGreaterThan(0);
    expect(results.ratios.statementsGrowth).toBeGreaterThan(0);
  });

  it('keeps the earlier measurements: latency, enumeration timing, login flood, audit', () => {
    expect(results.baseline.login.n).toBe(results.settings.logins);
    expect(results.baseline.me.n).toBe(results.settings.queries);
    expect(results.baseline.wrongPassword.known.n).toBe(results.settings.timingPairs);
    expect(Object.values(results.baseline.flood.answers).reduce((a, b) => a + b, 0)).toBe(results.settings.flood);
    expect(results.audit.mutationsPerSecond).toBeGreaterThan(0);
    expect(results.audit.verifiedPerSecond).toBeGreaterThan(0);
  });
});
