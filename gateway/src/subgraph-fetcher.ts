// The gateway's HTTP client for subgraph fetches: node:http over connections kept alive per subgraph.
// The module objects, not named imports: OpenTelemetry's HTTP instrumentation patches
// `http.request` after this file's imports are bound, and its span carries the trace to the subgraph.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';

export interface SubgraphFetcherOptions {
  /** Open connections per subgraph origin; further fetches queue for one. Default 256. */
  maxSockets?: number;
  /** An idle connection is closed after this many ms (a subgraph's own limit, when lower, wins). Default 30 000. */
  idleTimeoutMs?: number;
}

export interface SubgraphFetcher {
  fetch: Fetcher;
  /** Closes every kept-alive connection (at shutdown). */
  close(): void;
}

/**
 * @apollo/gateway's default fetcher (make-fetch-happen) spends more CPU per fetch than the fetch
 * itself costs a subgraph: cache-policy checks, a node-fetch Request and minipass streams. The
 * gateway needs none of it: POST, JSON, same few origins. See docs/adr/0008-subgraph-fetcher-and-verified-token-caches.md.
 */
export function createSubgraphFetcher(options: SubgraphFetcherOptions = {}): SubgraphFetcher {
  const maxSockets = options.maxSockets ?? 256;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  if (!Number.isInteger(maxSockets) || maxSockets < 1) throw new RangeError(`maxSockets must be a positive integer, got ${maxSockets}`);
  if (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs < 1) throw new RangeError(`idleTimeoutMs must be a positive integer, got ${idleTimeoutMs}`);
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: idleTimeoutMs, scheduling: 'lifo' as const };
  const plain = new http.Agent(agentOptions);
  const secure = new https.Agent(agentOptions);

  const fetch: Fetcher = (url, init = {}) =>
    new Promise<FetcherResponse>((resolve, reject) => {
      const target = new URL(url);
      const tls = target.protocol === 'https:';
      if (!tls && target.protocol !== 'http:') return reject(new TypeError(`Unsupported subgraph URL protocol: ${target.protocol}`));
      const body = init.body ?? undefined;
      const headers: Record<string, string | number> = { ...init.headers };
      if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
      // With a signal, an abort destroys the request and its socket: a timed-out connection is
      // never handed back to the pool for the next fetch to read a late answer from.
      const options = { method: init.method ?? 'GET', headers, agent: tls ? secure : plain, signal: init.signal as AbortSignal | undefined };
      let answered = false;
      const fail = (error: unknown) => reject(init.signal?.aborted ? error : SubgraphConnectionError.from(error, answered));
      const req = (tls ? https : http).request(target, options, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => resolve(BufferedResponse.fromMessage(url, res, Buffer.concat(chunks))));
        // A connection cut mid-body does not always surface as an error; the promise must settle anyway.
        res.on('close', () => {
          if (!res.complete) fail(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }));
        });
      });
      req.on('error', fail);
      req.end(body);
    });

  return {
    fetch,
    close: () => {
      plain.destroy();
      secure.destroy();
    },
  };
}

/** A subgraph's answer, read in full: the body is parsed once, by whoever asks for it. */
export class BufferedResponse implements FetcherResponse {
  readonly redirected = false;
  private used = false;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    private readonly body: Buffer,
  ) {}

  static fromMessage(url: string, res: IncomingMessage, body: Buffer): BufferedResponse {
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
    }
    return new BufferedResponse(url, res.statusCode ?? 0, res.statusMessage ?? '', headers, body);
  }

  /** Any fetcher's response, read in full (for a client other than this module's). */
  static async read(response: FetcherResponse): Promise<BufferedResponse> {
    if (response instanceof BufferedResponse) return response;
    const headers = new Headers();
    for (const [name, value] of response.headers) headers.append(name, value);
    return new BufferedResponse(response.url, response.status, response.statusText, headers, Buffer.from(await response.arrayBuffer()));
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get bodyUsed(): boolean {
    return this.used;
  }

  private consume(): Buffer {
    if (this.used) throw new TypeError('Body has already been read');
    this.used = true;
    return this.body;
  }

  async text(): Promise<string> {
    return this.consume().toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.consume().toString('utf8')) as unknown;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const body = this.consume();
    return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  }

  /** A fresh copy whose body can be read once more (the buffer itself is shared, never written). */
  clone(): BufferedResponse {
    if (this.used) throw new TypeError('Cannot clone a response whose body was read');
    return new BufferedResponse(this.url, this.status, this.statusText, this.headers, this.body);
  }
}

/**
 * A fetch that got no complete answer: refused, reset, or cut off. `code` is the system error's
 * (ECONNREFUSED, ECONNRESET, ...); `answered` says whether the subgraph had begun to answer, after
 * which the request certainly reached it.
 */
export class SubgraphConnectionError extends Error {
  override readonly name = 'SubgraphConnectionError';

  constructor(
    message: string,
    readonly code: string,
    readonly answered: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static from(error: unknown, answered: boolean): SubgraphConnectionError {
    if (error instanceof SubgraphConnectionError) return error;
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    return new SubgraphConnectionError(message, typeof code === 'string' ? code : 'UNKNOWN', answered, { cause: error });
  }
}
