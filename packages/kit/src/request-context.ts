// The current request's caller, client and ids, for code far from the resolver (audit events).
// Set once per request by the subgraph endpoint; undefined outside a request (jobs, start-up).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventContext } from './outbox';

const storage = new AsyncLocalStorage<EventContext>();

export function runInRequest<T>(context: EventContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentRequest(): EventContext | undefined {
  return storage.getStore();
}
