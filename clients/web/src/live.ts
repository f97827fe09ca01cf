// The board's live feed: the todoEvents subscription over graphql-ws on the same origin's /graphql.
// A socket is authenticated once, when it opens, so an expired or refused token means a new socket
// with a fresh token; any other ending is shown with its reason.
import { createClient, type Client } from 'graphql-ws';
import { documentText } from './api';
import { WebTodoEventsDocument, type WebTodoEventsSubscription } from './gql/graphql';
import { accessToken } from './session';

export type LiveState = 'connecting' | 'live' | 'ended';
export type TodoEvent = WebTodoEventsSubscription['todoEvents'];

export interface LiveOptions {
  workspaceId: string;
  onEvent(event: TodoEvent): void;
  /** The connection changed; `reason` says why it ended. */
  onState(state: LiveState, reason?: string): void;
  /** Events may have been missed (a reconnect): read the board again. */
  onResync(): void;
}

/** Resubscriptions in a row, without an event between, before giving up. */
const MAX_RENEWALS = 3;
/** Endings answered by subscribing again: with a fresh token, or on the reloaded schema. */
const RENEW = new Set(['UNAUTHENTICATED', 'SUBSCRIPTION_SCHEMA_RELOAD']);

interface Ending {
  code: string | undefined;
  message: string;
}

/** What a graphql-ws error sink received: GraphQL errors, a CloseEvent or an Error. */
function ending(error: unknown): Ending {
  if (Array.isArray(error)) {
    const first = error[0] as { message?: string; extensions?: { code?: unknown } } | undefined;
    const code = first?.extensions?.code;
    return { code: typeof code === 'string' ? code : undefined, message: first?.message ?? 'The subscription ended' };
  }
  if (typeof error === 'object' && error !== null && 'code' in error && typeof (error as CloseEvent).code === 'number') {
    const close = error as CloseEvent;
    // 4403: the gateway refused the token the socket opened with.
    const code = close.code === 4403 ? 'UNAUTHENTICATED' : `CLOSE_${close.code}`;
    return { code, message: close.reason || `The connection closed (${close.code})` };
  }
  return { code: undefined, message: error instanceof Error ? error.message : 'The connection failed' };
}

/** Subscribes until `stop()`; renews the socket with a fresh token when the gateway says UNAUTHENTICATED. */
export function subscribeToBoard(options: LiveOptions): { stop(): void } {
  let client: Client | undefined;
  let unsubscribe: (() => void) | undefined;
  let stopped = false;
  let renewals = 0;

  const open = (forceToken: boolean) => {
    options.onState('connecting');
    let connectedBefore = false;
    // Set once this socket's subscription has ended: its socket closing afterwards changes nothing.
    let finished = false;
    const current = createClient({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
      lazy: true,
      retryAttempts: 5,
      // Called for every (re)connect: a retried socket carries a token that is still valid.
      connectionParams: async () => ({ authorization: `Bearer ${await accessToken(forceToken && !connectedBefore)}` }),
      on: {
        connected: () => {
          if (connectedBefore) options.onResync();
          connectedBefore = true;
          options.onState('live');
        },
        closed: () => {
          if (!stopped && !finished && connectedBefore) options.onState('connecting');
        },
      },
    });
    client = current;
    // The gateway ends a subscription with one last result carrying the reason, then `complete`.
    let lastError: Ending | undefined;
    const finish = (why: Ending | undefined) => {
      finished = true;
      void current.dispose();
      if (stopped) return;
      if (why && RENEW.has(why.code ?? '') && renewals < MAX_RENEWALS) {
        renewals += 1;
        open(why.code === 'UNAUTHENTICATED');
        options.onResync();
        return;
      }
      options.onState('ended', why?.message ?? 'The server ended the live feed');
    };
    unsubscribe = current.subscribe<WebTodoEventsSubscription>(
      { query: documentText(WebTodoEventsDocument), variables: { workspaceId: options.workspaceId } },
      {
        next: (result) => {
          if (result.data) {
            renewals = 0;
            options.onEvent(result.data.todoEvents);
          } else if (result.errors?.length) {
            lastError = ending(result.errors);
          }
        },
        error: (error) => finish(ending(error)),
        complete: () => finish(lastError),
      },
    );
  };

  open(false);
  return {
    stop: () => {
      stopped = true;
      unsubscribe?.();
      void client?.dispose();
    },
  };
}
