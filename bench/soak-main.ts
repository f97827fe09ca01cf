// `npm run soak`: bench/soak.ts's run, its table, and bench/results/soak-<date>.json
// (SOAK_RESULTS_DIR); exits 1 when memory or descriptors grew past the limit or a request failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@citadel/kit/paths';
import { soak } from './soak';

const RESULTS_DIR = process.env.SOAK_RESULTS_DIR ?? join(REPO_ROOT, 'bench', 'results');
const results = await soak();
mkdirSync(RESULTS_DIR, { recursive: true });
const file = join(RESULTS_DIR, `soak-${results.date}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
const total = Object.values(results.requests).reduce((a, b) => a + b, 0);
process.stdout.write(`\nrequests: ${total} (${JSON.stringify(results.requests)}); unexpected: ${JSON.stringify(results.unexpected)}\n`);
process.stdout.write(`subscription events received: ${results.subscriptionEvents}; resubscriptions: ${results.resubscriptions}\n`);
process.stdout.write(
  `| Service | RSS floor, first → last third, MiB | growth | heap floor, first → last third, MiB | growth | fds after warm-up → end | growth |\n|---|---|---|---|---|---|---|\n`,
);
const after = results.samples.filter((s) => s.atSeconds >= results.warmupSeconds);
const third = Math.max(1, Math.floor(after.length / 3));
const floor = (samples: typeof after, service: string, key: 'rssMib' | 'heapMib') => Math.min(...samples.map((s) => s.processes[service]?.[key] ?? 0));
for (const [service, g] of Object.entries(results.growth)) {
  const [head, tail] = [after.slice(0, third), after.slice(-third)];
  process.stdout.write(
    `| ${service} | ${floor(head, service, 'rssMib')} → ${floor(tail, service, 'rssMib')} | ${g.rssPercent} % | ${floor(head, service, 'heapMib')} → ${floor(tail, service, 'heapMib')} | ${g.heapPercent} % | ${after[0]?.processes[service]?.fds} → ${after.at(-1)?.processes[service]?.fds} | ${g.fdsPercent} % |\n`,
  );
}
process.stdout.write(`\n${results.passed ? 'passed' : 'FAILED'} (growth limit ${results.maxGrowthPercent} %); results: ${file}\n`);
process.exitCode = results.passed ? 0 : 1;
