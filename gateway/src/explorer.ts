// The schema explorer: GraphiQL from our own dependencies (no CDN), subscriptions over graphql-ws.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

const DEFAULT_QUERY = `# Welcome to Citadel.
# 1. Run "Register" and "Login" below.
# 2. Put the accessToken into Headers as {"Authorization": "Bearer <token>"}.
# 3. Run "Me".

mutation Register {
  register(input: { email: "ada@example.com", password: "correct horse battery", name: "Ada" }) { id email }
}

mutation Login {
  login(input: { email: "ada@example.com", password: "correct horse battery" }) { accessToken expiresIn }
}

query Me {
  me { id email name createdAt }
}
`;

let page: string | undefined;

/** The page is rendered once (it is ~9 MB of inlined GraphiQL) and served from memory. */
export function explorerPage(): string {
  page ??= renderGraphiQL({
    title: 'Citadel explorer',
    endpoint: '/graphql',
    subscriptionsProtocol: 'WS',
    defaultQuery: DEFAULT_QUERY,
    shouldPersistHeaders: true,
  });
  return page;
}

export function wantsHtml(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
}

export function serveExplorer(_req: IncomingMessage, res: ServerResponse): void {
  const body = explorerPage();
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}
