// watch <workspaceId>: todoEvents over graphql-ws, one line per event until Ctrl-C. An expired
// access token ends the subscription (or refuses the socket): refresh and subscribe again.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { TodoEventsDocument, type TodoEventsSubscription } from '../gql/graphql';
import { CliError, EXIT, NetworkError } from '../errors';
import { documentText, operationName, toApiError, type GraphQLErrorBody } from '../transport';
import type { Command, CommandContext } from './command';

type TodoEvent = TodoEventsSubscription['todoEvents'];

/** How one subscription attempt ended. */
type Ending = { kind: 'reason'; code: string; message: string } | { kind: 'auth'; connected: boolean } | { kind: 'completed' } | { kind: 'stopped' } | { kind: 'unreachable' };

/** Close codes the gateway uses for a token it will not take. */
const FORBIDDEN_CLOSE = 4403;

/** The line printed for one event. */
export function eventLine(event: TodoEvent): string {
  const todo = event.todo;
  const parts = [
    todo.updatedAt,
    event.type.padEnd(9),
    todo.id,
    JSON.stringify(todo.title),
    `status=${todo.status}`,
    `assignee=${todo.assignee?.name ?? '-'}`,
    `by=${event.actor?.name ?? '-'}`,
  ];
  return parts.join('  ');
}

export const watch: Command = {
  path: ['watch'],
  args: ['workspaceId'],
  summary: "stream a workspace's todo events until Ctrl-C",
  options: {},
  async run(context) {
    const workspaceId = context.args.workspaceId!;
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const onSignal = () => stop();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      let refreshedWithoutConnecting = false;
      for (;;) {
        const token = await context.session.accessToken();
        const ending = await subscribeOnce(context, token, workspaceId, stopped);
        if (ending.kind === 'stopped') return;
        if (ending.kind === 'unreachable') throw new NetworkError(`cannot reach the gateway at ${context.client.endpoint}`);
        if (ending.kind === 'completed') throw new CliError('SUBSCRIPTION_COMPLETED', 'the server ended the subscription', EXIT.SUBSCRIPTION_ENDED);
        if (ending.kind === 'reason') throw new CliError(ending.code, `subscription ended: ${ending.message}`, EXIT.SUBSCRIPTION_ENDED);
        // The socket refused fresh tokens too: refreshing again would not help.
        if (!ending.connected && refreshedWithoutConnecting) throw new CliError('UNAUTHENTICATED', 'the gateway refused the refreshed access token', EXIT.AUTH);
        refreshedWithoutConnecting = !ending.connected;
        await context.session.refresh();
        context.note('access token expired: refreshed, subscribing again');
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

function subscribeOnce(context: CommandContext, token: string, workspaceId: string, stopped: Promise<void>): Promise<Ending> {
  let connected = false;
  const client: Client = createClient({
    url: context.client.endpoint.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
    on: {
      connected: () => {
        connected = true;
        context.note(`watching workspace ${workspaceId} (Ctrl-C to stop)`);
      },
    },
  });
  return new Promise<Ending>((resolve) => {
    let ending: Ending | undefined;
    const finish = (value: Ending) => {
      ending ??= value;
      unsubscribe();
      void client.dispose();
      resolve(ending);
    };
    void stopped.then(() => finish({ kind: 'stopped' }));
    // The manifest's text runs in every PERSISTED_DOCUMENTS mode (`only` matches it to the manifest).
    const { query } = documentText(TodoEventsDocument);
    const unsubscribe = client.subscribe<TodoEventsSubscription>(
      { query, operationName: operationName(TodoEventsDocument), variables: { workspaceId } },
      {
        next: (result) => {
          if (result.errors?.length) {
            const error = toApiError(result.errors as readonly GraphQLErrorBody[]);
            ending ??= error.code === 'UNAUTHENTICATED' ? { kind: 'auth', connected } : { kind: 'reason', code: error.code, message: error.message };
            return;
          }
          if (!result.data) return;
          const event = result.data.todoEvents;
          context.output.write(context.output.json ? JSON.stringify(event) + '\n' : eventLine(event) + '\n');
        },
        complete: () => finish(ending ?? { kind: 'completed' }),
        error: (error: unknown) => {
          const close = error as { code?: unknown; reason?: unknown };
          if (typeof close?.code === 'number') {
            if (close.code === FORBIDDEN_CLOSE) return finish({ kind: 'auth', connected });
            const reason = typeof close.reason === 'string' && close.reason ? `: ${close.reason}` : '';
            if (connected) return finish({ kind: 'reason', code: 'CONNECTION_CLOSED', message: `the gateway closed the connection (${close.code}${reason})` });
          }
          if (Array.isArray(error) && error.length > 0) {
            const apiError = toApiError(error as GraphQLErrorBody[]);
            return finish(apiError.code === 'UNAUTHENTICATED' ? { kind: 'auth', connected } : { kind: 'reason', code: apiError.code, message: apiError.message });
          }
          if (!connected) return finish({ kind: 'unreachable' });
          finish({ kind: 'reason', code: 'CONNECTION_CLOSED', message: 'the connection to the gateway was lost' });
        },
      },
    );
  });
}
