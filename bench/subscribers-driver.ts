// Subscriber driver, run as its own process (bench/subscriptions.ts starts several): graphql-ws
// subscribers on raw sockets, so receipt is timestamped when a message arrives, not after the
// bench's own bookkeeping, parsing or other subscribers' messages on one busy thread.
// Reads its job as JSON in argv[2]. Lines on stdout: `{"ready":n}` once every subscription was
// sent, `{"done":title}` once each of its subscribers got the event titled `title`, and on
// `report` (stdin) the receipts: ms since the epoch (`performance.timeOrigin + performance.now()`,
// comparable with the sender's clock on the same machine), per event title.
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

export interface SubscribersJob {
  /** ws:// URL of the gateway's /graphql. */
  url: string;
  /** One socket per entry: its token, and how many subscriptions it holds. */
  sockets: { token: string; count: number }[];
  query: string;
  variables: Record<string, unknown>;
}

export interface SubscribersReport {
  /** Receipt times (ms since the epoch) per event title, one per subscriber that got it. */
  receipts: Record<string, number[]>;
  /** Events whose payload was not the expected shape (errors, a missing name, another title). */
  wrong: number;
  sample?: string;
}

const job = JSON.parse(process.argv[2]!) as SubscribersJob;
const subscribers = job.sockets.reduce((sum, s) => sum + s.count, 0);
const receipts = new Map<string, number[]>();
const now = () => performance.timeOrigin + performance.now();
let wrong = 0;
let sample: string | undefined;
const sockets: WebSocket[] = [];

interface Next {
  type: string;
  payload?: { data?: { todoEvents?: { todo?: { title?: string; assignee?: { name?: string } | null }; actor?: { name?: string } | null } }; errors?: unknown[] };
}

/** Messages as they arrived: checked at `report`, so checking them delays no receipt time. */
const arrived: { at: number; raw: string }[] = [];
const counts = new Map<string, number>();
const TITLE = /"title":"([^"]*)"/;

function received(at: number, raw: string): void {
  arrived.push({ at, raw });
  const title = TITLE.exec(raw)?.[1];
  if (title === undefined) return;
  const count = (counts.get(title) ?? 0) + 1;
  counts.set(title, count);
  if (count === subscribers) process.stdout.write(`${JSON.stringify({ done: title })}\n`);
}

/** Receipt times per title, from every `next` that carries the expected event; the rest counted wrong. */
function check(): void {
  for (const { at, raw } of arrived.splice(0)) {
    const message = JSON.parse(raw) as Next;
    const event = message.type === 'next' ? message.payload?.data?.todoEvents : undefined;
    const title = event?.todo?.title;
    if (!title || message.payload?.errors || typeof event.actor?.name !== 'string' || typeof event.todo?.assignee?.name !== 'string') {
      wrong++;
      sample ??= raw.slice(0, 300);
      if (!title) continue;
    }
    let times = receipts.get(title);
    if (!times) receipts.set(title, (times = []));
    times.push(at);
  }
}

function open({ token, count }: SubscribersJob['sockets'][number]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(job.url, 'graphql-transport-ws');
    sockets.push(socket);
    socket.on('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    let acked = false;
    socket.on('message', (data: Buffer) => {
      const at = now();
      const raw = data.toString();
      if (!acked) {
        if ((JSON.parse(raw) as Next).type !== 'connection_ack') return reject(new Error(`no connection_ack: ${raw}`));
        acked = true;
        for (let i = 0; i < count; i++) {
          socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: job.query, variables: job.variables } }));
        }
        return resolve();
      }
      if (raw.startsWith('{"type":"ping"')) socket.send('{"type":"pong"}');
      else received(at, raw);
    });
  });
}

await Promise.all(job.sockets.map(open));
process.stdout.write(`${JSON.stringify({ ready: subscribers })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'report') {
    check();
    const report: SubscribersReport = { receipts: Object.fromEntries(receipts), wrong, ...(sample ? { sample } : {}) };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else if (line === 'stop') {
    break;
  }
}
for (const socket of sockets) socket.close(1000);
process.exit(0);
