// Subgraph request deduplication: identical subgraph queries in flight at the same time share one
// fetch, as Apollo Router's `deduplicate_query` and Hive Gateway's default do. Under many clients
// asking the same thing at once (a dashboard opened by a team, a page behind a load balancer's
// retries) the subgraphs answer once instead of once per client.
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { BufferedResponse } from './subgraph-fetcher';

/**
 * Headers that identify a request rather than say what it asks: two fetches differing only in them
 * ask the subgraph the same thing. Everything else (the internal token, which names the caller,
 * session, permissions and policies; the client's address and agent; the operation name) is part
 * of the key, so only the same caller's same question is ever shared.
 */
const CORRELATION_HEADERS = new Set(['x-request-id', 'traceparent', 'tracestate', 'baggage']);

export interface InflightFetchesOptions {
  /** Told of every fetch that joined one already in flight (for metrics). */
  onShared?: (url: string) => void;
}

export class InflightFetches {
  private readonly inflight = new Map<string, Promise<BufferedResponse>>();

  constructor(
    private readonly fetcher: Fetcher,
    private readonly options: InflightFetchesOptions = {},
  ) {}

  /** Fetches in flight now (for tests and the shutdown log). */
  get size(): number {
    return this.inflight.size;
  }

  /**
   * POSTs `body` to `url`, or joins the identical POST already in flight. Each caller gets its own
   * response object to read, since @apollo/gateway writes into the data it parses (typenames,
   * merged entities): the body is parsed once per caller, never shared as objects.
   */
  async post(url: string, headers: Record<string, string>, body: string): Promise<FetcherResponse> {
    const key = keyOf(url, headers, body);
    let answer = this.inflight.get(key);
    if (answer) {
      this.options.onShared?.(url);
    } else {
      answer = this.fetcher(url, { method: 'POST', headers, body })
        .then(BufferedResponse.read)
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, answer);
    }
    return (await answer).clone();
  }
}

function keyOf(url: string, headers: Record<string, string>, body: string): string {
  const names = Object.keys(headers)
    .filter((name) => !CORRELATION_HEADERS.has(name.toLowerCase()))
    .sort();
  let key = url;
  for (const name of names) key += `\n${name.toLowerCase()}: ${headers[name]}`;
  return `${key}\n\n${body}`;
}
