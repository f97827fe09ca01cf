// `npm run bench:subscriptions`: the subscription fan-out and the todos page alone, on a fresh platform.
import { launch } from '../e2e/launcher';
import { measureSubscriptions } from './subscriptions';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (samples: number[]) => {
  const s = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(1)} ms, p95 ${percentile(s, 95).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms (n=${s.length})`;
};
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

const platform = await launch({ env: { LOG_LEVEL: 'warn', REDIS_URL: undefined } });
try {
  const live = await measureSubscriptions(platform, { subscribers: Number(process.env.BENCH_SUBSCRIBERS ?? 1000), seconds: Number(process.env.BENCH_SECONDS ?? 10) });
  console.log(`one todo event to ${live.subscribers} subscribers (mutation sent → received): ${summary(live.deliveries)}`);
  console.log(`memory per subscriber: gateway heap ${kib(live.gatewayHeapPerSubscriber)}, gateway RSS ${kib(live.gatewayRssPerSubscriber)}, workspaces heap ${kib(live.subgraphHeapPerSubscriber)}`);
  console.log(`workspace { todos(first: 20) { title assignee { name } } }, 16 in flight: ${live.todosRps.toFixed(0)} requests/s, ${summary(live.todosLatencies)}`);
} finally {
  await platform.stop();
}
