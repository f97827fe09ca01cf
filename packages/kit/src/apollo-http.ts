// Bridges node:http to Apollo Server's executeHTTPGraphQLRequest (no framework in between).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { parseJsonBody, readBody } from './http';
import type { RequestScope } from './server';

export type ContextFactory<TContext extends BaseContext> = (
  req: IncomingMessage,
  scope: RequestScope,
) => Promise<TContext>;

export function apolloHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: ContextFactory<TContext>,
) {
  return async (req: IncomingMessage, res: ServerResponse, scope: RequestScope): Promise<void> => {
    const raw = req.method === 'POST' ? await readBody(req, scope.maxBodyBytes) : Buffer.alloc(0);
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: (req.method ?? 'GET').toUpperCase(),
        headers,
        search: query >= 0 ? url.slice(query + 1) : '',
        body: parseJsonBody(raw, req.headers['content-type']),
      },
      context: () => context(req, scope),
    });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
