// `npm run reliability`: the reliability suites in full, then the 30-minute soak. `npm test` runs
// the same suites reduced (the fuzz suite with fewer cases, the soak as a 30-second smoke run).
// FUZZ_RUNS (default 1000 cases per property) and SOAK_SECONDS (default 1800) change the sizes;
// RELIABILITY_SKIP_SOAK=1 runs the suites only. Exits 1 when any part failed.
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '@citadel/kit/paths';

const SUITES = [
  'e2e/faults.e2e.test.ts',
  'e2e/database-restart.e2e.test.ts',
  'e2e/rolling-restart.e2e.test.ts',
  'e2e/redis-outage.e2e.test.ts',
  'e2e/rate-limit.e2e.test.ts',
  'e2e/ws-limits.e2e.test.ts',
  'e2e/supergraph-reload.e2e.test.ts',
  'e2e/fuzz.e2e.test.ts',
];

const env = { ...process.env, FUZZ_RUNS: process.env.FUZZ_RUNS ?? '1000' };
const run = (what: string, command: string, args: string[]): boolean => {
  process.stdout.write(`\n== ${what}\n`);
  const result = spawnSync(command, args, { cwd: REPO_ROOT, env, stdio: 'inherit' });
  return result.status === 0;
};

const suites = run(`fault, limit and fuzz suites (FUZZ_RUNS=${env.FUZZ_RUNS})`, process.execPath, [
  'node_modules/vitest/vitest.mjs',
  'run',
  '--project',
  'e2e',
  '--testTimeout',
  '1800000',
  ...SUITES,
]);
const soaked = process.env.RELIABILITY_SKIP_SOAK === '1' || run(`soak (SOAK_SECONDS=${process.env.SOAK_SECONDS ?? '1800'})`, process.execPath, ['--import', 'tsx', 'bench/soak-main.ts']);
process.stdout.write(`\nreliability: suites ${suites ? 'passed' : 'FAILED'}, soak ${process.env.RELIABILITY_SKIP_SOAK === '1' ? 'skipped' : soaked ? 'passed' : 'FAILED'}\n`);
process.exitCode = suites && soaked ? 0 : 1;
