// Subscriptions through the gateway, which @apollo/gateway cannot run: the gateway plans the
// subscription with its own planner, runs the primary fetch as a subscription on the owning
// subgraph (one shared graphql-ws connection per subgraph), and for each event runs the rest of
// the plan, so fields owned by other subgraphs are filled in. Authorization is decided for every
// event with the caller's current permissions; an expired token, an ended session or a lost right
// to the subscription field ends it with a last error saying why. Each subscription has a bounded
// queue: a client that stops reading is disconnected when it overflows, and nobody else waits.
import { createHash } from 'node:crypto';
import type { ApolloGateway } from '@apollo/gateway';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { Caller } from '@citadel/kit/auth';
import { EventStream } from '@citadel/kit/event-stream';
import type { Logger } from '@citadel/kit/logger';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type ValidationRule,
} from 'graphql';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { VerifiedCaller } from '../access-token';
import type { AuthorizingGateway, Decision } from '../authorizing-gateway';
import type { GatewayContext } from '../context';
import { plannerSnapshot, type PlannerSnapshot, type SubscriptionPlan } from './planner';
import type { SharedFetches } from './shared-fetches';
import type { UpstreamConnections } from './upstream';

export interface SubscriptionRelayOptions {
  gateway: ApolloGateway;
  /** Absent with AUTHORIZATION_MODE=off: the subgraphs alone enforce (they refuse). */
  authorizing: AuthorizingGateway | undefined;
  upstream: UpstreamConnections;
  /** The caller with its current global permissions (cached per node, dropped on change). */
  withPermissions: <C extends Caller>(caller: C) => Promise<C>;
  /** Why the caller may no longer act (token expired, session ended), or undefined. */
  endedReason: (caller: VerifiedCaller) => string | undefined;
  validationRules: readonly ValidationRule[];
  logger: Logger;
  /** Events waiting for one slow client before it is disconnected. */
  queueLimit: number;
  /** Delay before the first resubscribe after a subgraph connection is lost (doubles, up to 5 s). */
  resubscribeDelayMs?: number;
  /** Shares identical fetches of the rest of the plan between subscribers of one event. */
  sharedFetches?: SharedFetches;
  /**
   * How long an event completed for a group of subscribers is handed to more of them (1 s): a
   * subscriber further behind gets it completed afresh.
   */
  completionReuseMs?: number;
}

export interface SubscribeRequest {
  document: DocumentNode;
  query: string;
  operationName: string | null;
  variables: Record<string, unknown> | undefined;
  context: GatewayContext & { caller: VerifiedCaller };
  /** Drops the client's connection: it overflowed its queue. */
  disconnect: (code: number, reason: string) => void;
}

/** Close code for a client that does not read its events fast enough. */
export const SLOW_CONSUMER_CLOSE = 4008;

type EndReason = 'complete' | 'client' | 'expired' | 'revoked' | 'unauthorized' | 'upstream_error' | 'slow_consumer' | 'schema_reload' | 'shutdown';

class Ended extends Error {
  constructor(
    readonly reason: EndReason,
    readonly errors: readonly (GraphQLError | GraphQLFormattedError)[],
  ) {
    super(reason);
  }
}

interface RawEvent {
  result: ExecutionResult;
}

interface Completion {
  result: Promise<ExecutionResult>;
  /** When it stops being handed out (set once it is done). */
  until: number;
}

export class SubscriptionRelay {
  private snapshot: PlannerSnapshot | undefined;
  private plans = new Map<string, SubscriptionPlan>();
  private readonly active = new Set<ClientSubscription>();
  private readonly byUser = new Map<string, Set<ClientSubscription>>();
  private readonly bySession = new Map<string, Set<ClientSubscription>>();
  private loadedOnce = false;
  /** Per upstream event (shared by the subscribers of one upstream subscription), its completions by group. */
  private readonly completions = new WeakMap<ExecutionResult, Map<string, Completion>>();
  private metrics: { active: Gauge; started: Counter; events: Counter; ended: Counter<'reason'> } | undefined;

  constructor(readonly options: SubscriptionRelayOptions) {
    options.gateway.onSchemaLoadOrUpdate(() => {
      this.snapshot = undefined;
      this.plans = new Map();
      // Plans made for the old supergraph may not fit the new one: end them, as Apollo Router does.
      if (this.loadedOnce) this.endAll('schema_reload', 'SUBSCRIPTION_SCHEMA_RELOAD', 'The schema changed; subscribe again');
      this.loadedOnce = true;
    });
  }

  get size(): number {
    return this.active.size;
  }

  useMetrics(registry: Registry): void {
    this.metrics = {
      active: new Gauge({ name: 'citadel_gateway_subscriptions_active', help: 'Client subscriptions open on this gateway', registers: [registry] }),
      started: new Counter({ name: 'citadel_gateway_subscriptions_started_total', help: 'Client subscriptions started', registers: [registry] }),
      events: new Counter({ name: 'citadel_gateway_subscription_events_total', help: 'Subscription events delivered to clients', registers: [registry] }),
      ended: new Counter({
        name: 'citadel_gateway_subscriptions_ended_total',
        help: 'Client subscriptions ended, by reason',
        labelNames: ['reason'] as const,
        registers: [registry],
      }),
    };
  }

  /** Sessions newly revoked: their subscriptions end now, not at their next event. */
  sessionsRevoked(sessionIds: readonly string[]): void {
    for (const id of sessionIds) {
      for (const sub of [...(this.bySession.get(id) ?? [])]) sub.end('revoked', 'UNAUTHENTICATED', 'This session has ended; sign in again');
    }
  }

  /** Permissions changed (null: anyone's): re-decide those users' subscriptions now. */
  permissionsChanged(userIds: readonly string[] | null): void {
    const subs = userIds === null ? [...this.active] : userIds.flatMap((id) => [...(this.byUser.get(id) ?? [])]);
    for (const sub of subs) void sub.recheck();
  }

  /**
   * Starts a subscription: errors (validation, authorization, the subgraph refusing) come back as
   * a result; otherwise the events, ending with an error result when the subscription is ended.
   */
  async subscribe(request: SubscribeRequest): Promise<ExecutionResult | AsyncIterableIterator<ExecutionResult>> {
    const snapshot = this.current();
    const { document, operationName } = request;
    const validationErrors = validate(snapshot.apiSchema, document, [...specifiedRules, ...this.options.validationRules]);
    if (validationErrors.length > 0) return { errors: validationErrors.map((e) => coded(e, 'GRAPHQL_VALIDATION_FAILED')) };
    const operation = getOperationAST(document, operationName);
    if (!operation) return { errors: [failure('OPERATION_RESOLUTION_FAILURE', 'The request names no operation of its document')] };
    if (operation.operation !== 'subscription') throw new Error('SubscriptionRelay got a query or mutation');
    const coerced = getVariableValues(snapshot.apiSchema, operation.variableDefinitions ?? [], request.variables ?? {});
    if (coerced.errors) return { errors: coerced.errors.map((e) => coded(e, 'BAD_USER_INPUT')) };

    const queryHash = createHash('sha256').update(request.query).digest('hex');
    const caller = await this.options.withPermissions(request.context.caller);
    const decision = this.decide(document, operationName, caller, queryHash);
    if (decision && decision.unauthorizedPaths.length > 0) {
      this.options.authorizing!.reportDenied(decision, { ...request.context, caller }, operationName);
      if (this.options.authorizing!.mode === 'reject' || !decision.document || decision.unauthorizedPaths.includes('') || rootRemoved(decision)) {
        return { errors: this.options.authorizing!.rejection(decision) };
      }
    }
    const runDocument = decision?.document ?? document;
    const runHash = decision?.queryHash ?? queryHash;
    let plan: SubscriptionPlan;
    try {
      plan = this.plan(snapshot, runDocument, operationName, runHash);
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not plan a subscription');
      return { errors: [failure('INTERNAL_SERVER_ERROR', 'The subscription could not be planned')] };
    }
    const subscription = new ClientSubscription(this, snapshot, plan, request, { document: runDocument, decision, queryHash });
    subscription.start(caller);
    return subscription.iterator();
  }

  /** The decision for a caller (undefined with authorization off). */
  decide(document: DocumentNode, operationName: string | null, caller: Caller, queryHash: string): Decision | undefined {
    const authorizing = this.options.authorizing;
    if (!authorizing) return undefined;
    const decision = authorizing.decide(document, operationName, caller, queryHash);
    if (!decision) throw new Error('The gateway has no schema to authorize against yet');
    return decision;
  }

  register(sub: ClientSubscription): void {
    this.active.add(sub);
    addTo(this.byUser, sub.userId, sub);
    addTo(this.bySession, sub.sessionId, sub);
    this.metrics?.active.set(this.active.size);
    this.metrics?.started.inc();
  }

  unregister(sub: ClientSubscription, reason: EndReason): void {
    if (!this.active.delete(sub)) return;
    removeFrom(this.byUser, sub.userId, sub);
    removeFrom(this.bySession, sub.sessionId, sub);
    this.metrics?.active.set(this.active.size);
    this.metrics?.ended.inc({ reason });
  }

  /** The event completed for the group `key`: once, however many of the group it goes to. */
  completion(event: ExecutionResult, key: string, complete: () => Promise<ExecutionResult>): Promise<ExecutionResult> {
    let byGroup = this.completions.get(event);
    if (!byGroup) this.completions.set(event, (byGroup = new Map()));
    const found = byGroup.get(key);
    if (found && found.until >= Date.now()) return found.result;
    const created: Completion = { result: complete(), until: Number.POSITIVE_INFINITY };
    const done = () => {
      created.until = Date.now() + (this.options.completionReuseMs ?? 1_000);
    };
    created.result.then(done, done);
    byGroup.set(key, created);
    return created.result;
  }

  delivered(): void {
    this.metrics?.events.inc();
  }

  /** Ends every subscription (shutdown, schema change), each with a last error saying why. */
  endAll(reason: EndReason, code: string, message: string): void {
    for (const sub of [...this.active]) sub.end(reason, code, message);
  }

  private current(): PlannerSnapshot {
    this.snapshot ??= plannerSnapshot(this.options.gateway);
    return this.snapshot;
  }

  plan(snapshot: PlannerSnapshot, document: DocumentNode, operationName: string | null, queryHash: string): SubscriptionPlan {
    const key = `${queryHash}\n${operationName ?? ''}`;
    let plan = this.plans.get(key);
    if (!plan) {
      plan = snapshot.plan(document, operationName);
      if (this.plans.size >= 1_000) this.plans.delete(this.plans.keys().next().value!);
      this.plans.set(key, plan);
    }
    return plan;
  }
}

/** One client's subscription: its upstream subscription, queue, timers and per-event work. */
class ClientSubscription {
  readonly userId: string | null;
  readonly sessionId: string | null;
  private readonly stream: EventStream<RawEvent>;
  private stopUpstream: (() => void) | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private ended = false;
  private readonly logger: Logger;
  /** What, besides the caller and its current decision, makes two subscribers' results the same. */
  private readonly groupKey: string;
  private lastKey: { permissions: Caller['permissions']; decision: Decision | undefined; key: string } | undefined;

  constructor(
    private readonly relay: SubscriptionRelay,
    private readonly snapshot: PlannerSnapshot,
    private readonly plan: SubscriptionPlan,
    private readonly request: SubscribeRequest,
    private readonly planned: { document: DocumentNode; decision: Decision | undefined; queryHash: string },
  ) {
    const caller = request.context.caller;
    this.userId = caller.userId;
    this.sessionId = caller.sessionId;
    this.logger = request.context.logger;
    this.retryDelay = relay.options.resubscribeDelayMs ?? 250;
    const { client } = request.context;
    this.groupKey = JSON.stringify([
      planned.queryHash,
      request.operationName,
      request.variables ?? {},
      client.ip,
      client.userAgent,
      planned.decision?.queryHash ?? null,
      planned.decision?.unauthorizedPaths ?? null,
    ]);
    this.stream = new EventStream<RawEvent>({
      maxQueue: relay.options.queueLimit,
      overflow: () => {
        this.closing('slow_consumer');
        return new Ended('slow_consumer', []);
      },
      onClose: () => this.cleanup(),
    });
  }

  /**
   * Opens the upstream subscription. A refusal by the subgraph (NOT_FOUND for a workspace you are
   * not in) arrives as the subscription's only result, then the end: on the wire the same as an
   * error at subscribe time (`next` with the errors, then `complete`).
   */
  start(caller: VerifiedCaller): void {
    this.relay.register(this);
    const expiresAt = this.request.context.caller.expiresAt;
    if (expiresAt !== null) {
      this.expiryTimer = setTimeout(() => this.end('expired', 'UNAUTHENTICATED', 'Access token has expired'), Math.max(0, expiresAt - Date.now()));
      this.expiryTimer.unref();
    }
    void this.subscribeUpstream(caller);
  }

  private async subscribeUpstream(caller: VerifiedCaller): Promise<void> {
    const { primary } = this.plan;
    const url = this.snapshot.subgraphUrl(primary.serviceName);
    if (!url) return this.end('upstream_error', 'INTERNAL_SERVER_ERROR', `No URL for subgraph ${primary.serviceName}`);
    const variables: Record<string, unknown> = {};
    for (const name of primary.variableUsages ?? []) {
      if (this.request.variables && name in this.request.variables) variables[name] = this.request.variables[name];
    }
    let stop: () => void;
    try {
      stop = await this.relay.options.upstream.subscribe(
        {
          service: primary.serviceName,
          url,
          query: primary.operation,
          operationName: primary.operationName,
          variables,
          caller,
          client: this.request.context.client,
          requestId: this.request.context.requestId,
          clientOperationName: this.request.operationName,
        },
        {
          next: (result) => {
            this.retryDelay = this.relay.options.resubscribeDelayMs ?? 250;
            // A subgraph that ends a subscription sends its reason as a last result, then complete.
            if (!this.stream.push({ result })) this.overflowed();
          },
          error: (errors) => this.endWith('upstream_error', errors),
          complete: () => this.endWith('complete', []),
          lost: (reason) => this.resubscribeLater(reason),
        },
      );
    } catch (error) {
      this.logger.error({ err: error }, 'could not subscribe upstream');
      return this.end('upstream_error', 'INTERNAL_SERVER_ERROR', 'The subscription could not be started');
    }
    if (this.ended) stop();
    else this.stopUpstream = stop;
  }

  private resubscribeLater(reason: string): void {
    if (this.ended) return;
    this.stopUpstream = undefined;
    this.logger.warn({ subgraph: this.plan.primary.serviceName, reason, retryInMs: this.retryDelay }, 'subscription lost its subgraph connection; resubscribing');
    this.retryTimer = setTimeout(() => void this.resubscribe(), this.retryDelay * (0.75 + Math.random() * 0.5));
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, 5_000);
  }

  private async resubscribe(): Promise<void> {
    if (this.ended) return;
    const caller = this.request.context.caller;
    const reason = this.relay.options.endedReason(caller);
    if (reason) return this.end('expired', 'UNAUTHENTICATED', reason);
    const current = await this.relay.options.withPermissions(caller);
    if (!this.stillAllowed(current)) return;
    await this.subscribeUpstream(current);
  }

  /** Re-decides authorization now (permissions changed); ends the subscription if it lost its field. */
  async recheck(): Promise<void> {
    if (this.ended) return;
    const caller = await this.relay.options.withPermissions(this.request.context.caller);
    this.stillAllowed(caller);
  }

  /** False (and the subscription ended) when the caller may no longer run it at all. */
  private stillAllowed(caller: Caller): boolean {
    const decision = this.decideFor(caller);
    if (!decision || decision.unauthorizedPaths.length === 0) return true;
    const authorizing = this.relay.options.authorizing!;
    if (authorizing.mode === 'reject' || !decision.document || decision.unauthorizedPaths.includes('') || rootRemoved(decision)) {
      this.endWith('unauthorized', authorizing.rejection(decision));
      return false;
    }
    return true;
  }

  private decideFor(caller: Caller): Decision | undefined {
    return this.relay.decide(this.request.document, this.request.operationName, caller, this.planned.queryHash);
  }

  iterator(): AsyncIterableIterator<ExecutionResult> {
    let finished = false;
    const next = async (): Promise<IteratorResult<ExecutionResult>> => {
      if (finished) return { value: undefined, done: true };
      let step: IteratorResult<RawEvent>;
      try {
        step = await this.stream.next();
      } catch (error) {
        finished = true;
        const errors = error instanceof Ended ? error.errors : [failure('INTERNAL_SERVER_ERROR', 'The subscription failed')];
        return errors.length > 0 ? { value: { errors: errors as GraphQLError[] }, done: false } : { value: undefined, done: true };
      }
      if (step.done) {
        finished = true;
        return { value: undefined, done: true };
      }
      const result = await this.deliver(step.value);
      if (result instanceof Ended) {
        finished = true;
        this.endWith(result.reason, []);
        return result.errors.length > 0 ? { value: { errors: result.errors as GraphQLError[] }, done: false } : { value: undefined, done: true };
      }
      this.relay.delivered();
      return { value: result, done: false };
    };
    const stop = async (): Promise<IteratorResult<ExecutionResult>> => {
      finished = true;
      this.endWith('client', []);
      await this.stream.return();
      return { value: undefined, done: true };
    };
    return {
      next,
      return: stop,
      throw: async (error?: unknown) => {
        await stop();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** One event for the client: checked against the caller's current state, then completed. */
  private async deliver(event: RawEvent): Promise<ExecutionResult | Ended> {
    const original = this.request.context.caller;
    const reason = this.relay.options.endedReason(original);
    if (reason) return new Ended('expired', [failure('UNAUTHENTICATED', reason)]);
    const caller = await this.relay.options.withPermissions(original);
    const current = this.decideFor(caller);
    const authorizing = this.relay.options.authorizing;
    if (current && authorizing && current.unauthorizedPaths.length > 0) {
      if (authorizing.mode === 'reject' || !current.document || current.unauthorizedPaths.includes('') || rootRemoved(current)) {
        return new Ended('unauthorized', authorizing.rejection(current));
      }
    }
    if (current && authorizing && current.queryHash !== this.planned.decision?.queryHash && current.unauthorizedPaths.length > 0) {
      authorizing.reportDenied(current, { ...this.request.context, caller }, this.request.operationName);
    }
    // Subscribers of one upstream event whose result would be the same (same document, variables
    // and client, same caller as the subgraphs and the authorization see it, same decisions)
    // share one completion of it: the rest of the plan runs once per group, not per subscriber.
    return this.relay.completion(event.result, this.completionKey(caller, current), () => this.complete(event, caller, current));
  }

  /** The key of this subscriber's group; rebuilt only when its permissions or decision changed. */
  private completionKey(caller: Caller, current: Decision | undefined): string {
    const last = this.lastKey;
    if (last && last.permissions === caller.permissions && last.decision === current) return last.key;
    const key = `${this.groupKey}\n${callerKey(caller)}\n${current?.queryHash ?? ''}\n${current?.unauthorizedPaths.join(' ') ?? ''}`;
    this.lastKey = { permissions: caller.permissions, decision: current, key };
    return key;
  }

  /** Runs the rest of the plan for the event and removes what the caller may not see. */
  private async complete(event: RawEvent, caller: VerifiedCaller, current: Decision | undefined): Promise<ExecutionResult> {
    const authorizing = this.relay.options.authorizing;
    const context: GatewayContext = { ...this.request.context, caller };
    // A field lost since subscribing is left out of this event's fetches, not only of its result:
    // the subgraph owning it would refuse a fetch still asking for it (the caller's token says so).
    let plan = this.plan;
    let document = this.planned.document;
    let queryHash = this.planned.queryHash;
    if (current?.document && current.queryHash !== this.planned.decision?.queryHash && covers(current.removed, this.planned.decision?.removed)) {
      plan = this.relay.plan(this.snapshot, current.document, this.request.operationName, current.queryHash);
      document = current.document;
      queryHash = current.queryHash;
    }
    const requestContext = {
      request: { query: this.request.query, variables: this.request.variables ?? {}, operationName: this.request.operationName ?? undefined },
      context,
      logger: this.logger,
      metrics: {},
      document,
      queryHash,
      cache: undefined,
      overallCachePolicy: undefined,
    } as unknown as GatewayGraphQLRequestContext;
    let result: ExecutionResult;
    try {
      result = await this.snapshot.execute(plan, event.result, document, this.request.operationName, requestContext, this.relay.options.sharedFetches);
    } catch (error) {
      this.logger.error({ err: error }, 'a subscription event could not be completed');
      return { errors: [failure('INTERNAL_SERVER_ERROR', 'This event could not be completed')] };
    }
    if (!authorizing) return result;
    // Fields removed when the subscription started stay removed (a permission gained applies on
    // the next subscribe); fields the caller lost since are removed now.
    const removed = new Map([...(this.planned.decision?.removed ?? []), ...(current?.removed ?? [])]);
    if (removed.size === 0) return result;
    return authorizing.restore(this.request.document, this.request.operationName, removed, result as never, this.request.variables) as ExecutionResult;
  }

  private overflowed(): void {
    this.logger.warn({ queueLimit: this.relay.options.queueLimit }, 'disconnecting a client that does not read its subscription events');
    this.request.disconnect(SLOW_CONSUMER_CLOSE, 'Too many subscription events waiting: the client is not reading');
  }

  /** Ends with a last error result carrying `message` under `code`. */
  end(reason: EndReason, code: string, message: string): void {
    this.endWith(reason, [failure(code, message)]);
  }

  private endWith(reason: EndReason, errors: readonly (GraphQLError | GraphQLFormattedError)[]): void {
    if (!this.closing(reason)) return;
    this.stream.end(reason === 'complete' || reason === 'client' ? undefined : new Ended(reason, errors));
  }

  /** Marks the subscription ended, once, for whichever reason came first; false if it already was. */
  private closing(reason: EndReason): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.relay.unregister(this, reason);
    return true;
  }

  /** Releases timers and the upstream subscription: runs once the stream closed, however it closed. */
  private cleanup(): void {
    this.closing('client');
    clearTimeout(this.expiryTimer);
    clearTimeout(this.retryTimer);
    this.stopUpstream?.();
    this.stopUpstream = undefined;
  }
}

/** The caller as the internal token carries it to the subgraphs and as authorization decides on it. */
function callerKey(caller: Caller): string {
  return `${caller.userId ?? ''}|${caller.sessionId ?? ''}|${caller.permissions.join(' ')}|${caller.policies.join(' ')}`;
}

/** Whether `wider` removes every node `narrower` removes (and so its document asks for no more). */
function covers(wider: Decision['removed'], narrower: Decision['removed'] | undefined): boolean {
  if (!narrower) return true;
  for (const node of narrower.keys()) if (!wider.has(node)) return false;
  return true;
}

/** True when the subscription's root field itself is removed: nothing would be left to run. */
function rootRemoved(decision: Decision): boolean {
  return decision.unauthorizedPaths.some((path) => /^\/[^/]+$/.test(path));
}

function failure(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

function coded(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, code } });
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K | null, value: V): void {
  if (key === null) return;
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K | null, value: V): void {
  if (key === null) return;
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

