// A port nothing listens on right now, for servers a test starts.
//
// Ports come from below the kernel's ephemeral range (32768–60999 on Linux): a port the kernel
// handed out for `listen(0)` is free only until the next outgoing connection takes it, which in a
// suite opening thousands of connections happens between the probe and the real listen. A random
// port below that range is never given to an outgoing connection; the probe checks nobody listens.
import { createServer } from 'node:net';

const LOW = 15_000;
const HIGH = 32_000;
const handedOut = new Set<number>();

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    if (await probe(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${LOW} and ${HIGH}`);
}
