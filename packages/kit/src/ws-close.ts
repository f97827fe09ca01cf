// Closes a graphql-ws server on shutdown in bounded time: peers get 1001 "going away", and any
// that has not answered the close handshake within `graceMs` is cut off, so a silent peer cannot
// hold shutdown for ws's 30-second close timeout.
import type { WebSocketServer } from 'ws';

export async function closeWebSocketServer(wss: WebSocketServer, server: { dispose(): void | Promise<void> }, graceMs = 1_000): Promise<void> {
  for (const client of wss.clients) client.close(1001, 'Server shutting down');
  const cutOff = setTimeout(() => {
    for (const client of wss.clients) client.terminate();
  }, graceMs);
  try {
    await server.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  } finally {
    clearTimeout(cutOff);
  }
}
