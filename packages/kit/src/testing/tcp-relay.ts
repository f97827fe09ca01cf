// A TCP relay to a real server (Redis, PostgreSQL) that a test can cut and restore, as if that
// server went away and came back: cutting closes every relayed connection and refuses new ones;
// hanging closes them and takes new ones without ever answering, as a host that froze would.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './ports';

export interface TcpRelay {
  /** The target's URL with the relay's address in place of the target's (scheme, credentials, path kept). */
  url: string;
  port: number;
  /** Closes every relayed connection and stops listening: clients see the server go away. */
  cut(): Promise<void>;
  /** Closes every relayed connection, then accepts new ones and never answers them. */
  hang(): void;
  /** Relays again (listening again on the same port after a cut). */
  restore(): Promise<void>;
}

export async function tcpRelay(target: URL | string): Promise<TcpRelay> {
  const to = new URL(target);
  const defaultPort = to.protocol === 'postgres:' || to.protocol === 'postgresql:' ? 5432 : 6379;
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let hanging = false;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        if (hanging) {
          sockets.add(client);
          client.on('error', () => undefined);
          client.on('close', () => sockets.delete(client));
          return;
        }
        const upstream = connect(Number(to.port || defaultPort), to.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => undefined);
          socket.on('close', () => {
            sockets.delete(socket);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  await listen();
  const url = new URL(to);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    port,
    cut: async () => {
      const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      server = undefined;
    },
    hang: () => {
      hanging = true;
      for (const socket of sockets) socket.destroy();
    },
    restore: async () => {
      hanging = false;
      for (const socket of sockets) socket.destroy();
      if (!server) await listen();
    },
  };
}
