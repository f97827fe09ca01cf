// `npm run bench:subscriptions`: the subscription fan-out and the todos page alone, on a fresh platform.
import { launch } from '../e2e/launcher';
import { measureSubscriptions } from './subscriptions';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (samples: number[]) => {
  const s = [...samples].sort((a, b) => a - b);
  return `min ${s[0]!.toFixed(1)} ms, p50 ${percentile(s, 50).toFixed(1)} ms, p95 ${percentile(s, 95).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms (n=${s.length})`;
};
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

// BENCH_PLATFORM_NODE_OPTIONS reaches every platform process, not this one: a profiler loaded with
// `--import` (Node refuses --cpu-prof in NODE_OPTIONS). BENCH_SUBSCRIBER_PROCESSES: subscriber processes (4).
const platform = await launch({ env: { LOG_LEVEL: 'warn', REDIS_URL: undefined, NODE_OPTIONS: process.env.BENCH_PLATFORM_NODE_OPTIONS } });
try {
  const settings = { subscribers: Number(process.env.BENCH_SUBSCRIBERS ?? 1000), seconds: Number(process.env.BENCH_SECONDS ?? 10), processes: Number(process.env.BENCH_SUBSCRIBER_PROCESSES ?? 4) };
  const live = await measureSubscriptions(platform, settings);
  console.log(`one todo event to ${live.subscribers} subscribers (mutation sent → received): ${summary(live.deliveries)}`);
  console.log(`per event, p50/max ms: ${live.deliveriesByEvent.map((d) => `${percentile([...d].sort((a, b) => a - b), 50).toFixed(0)}/${Math.max(...d).toFixed(0)}`).join(' ')}; published by the outbox relay more than 0.5 s after commit: ${live.outboxLateEvents}`);
  console.log(`the mutation alone (sent → answered): ${summary(live.mutations)}; CPU per event: gateway ${live.gatewayCpuMsPerEvent.toFixed(0)} ms, workspaces ${live.subgraphCpuMsPerEvent.toFixed(0)} ms`);
  console.log(`memory per subscriber: gateway heap ${kib(live.gatewayHeapPerSubscriber)}, gateway RSS ${kib(live.gatewayRssPerSubscriber)}, workspaces heap ${kib(live.subgraphHeapPerSubscriber)}`);
  console.log(`workspace { todos(first: 20) { title assignee { name } } }, 16 in flight: ${live.todosRps.toFixed(0)} requests/s, ${summary(live.todosLatencies)}`);
} finally {
  await platform.stop();
}
