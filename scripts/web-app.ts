// The web app in development: Vite's dev server for clients/web (its own Vite, not the test
// runner's), with /graphql proxied to the gateway over HTTP and WebSocket, so the app is same-origin:
// no CORS, and the gateway's CSRF rule is met by the app's JSON requests.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '@citadel/kit/paths';

export const WEB_DIR = join(REPO_ROOT, 'clients', 'web');

export interface WebAppOptions {
  host: string;
  port: number;
  /** The gateway's base URL, e.g. http://127.0.0.1:4000. */
  gatewayUrl: string;
  /** Vite's cache, per data directory: two platforms on one machine do not share it. */
  cacheDir: string;
}

export interface WebApp {
  url: string;
  close(): Promise<void>;
}

/** The part of Vite's API used here (typed locally: the root's vite is the test runner's, another major). */
interface ViteDevServer {
  listen(): Promise<unknown>;
  close(): Promise<void>;
}
interface ViteModule {
  createServer(config: Record<string, unknown>): Promise<ViteDevServer>;
}

async function loadVite(): Promise<ViteModule> {
  // Resolved from clients/web, so it is the version that package pins.
  const entry = createRequire(join(WEB_DIR, 'package.json')).resolve('vite');
  return (await import(pathToFileURL(entry).href)) as ViteModule;
}

export async function startWebApp(options: WebAppOptions): Promise<WebApp> {
  const { createServer } = await loadVite();
  const server = await createServer({
    root: WEB_DIR,
    configFile: join(WEB_DIR, 'vite.config.ts'),
    cacheDir: options.cacheDir,
    logLevel: 'warn',
    clearScreen: false,
    server: {
      host: options.host,
      port: options.port,
      strictPort: true,
      proxy: {
        '/graphql': { target: options.gatewayUrl, ws: true, changeOrigin: true },
      },
    },
  });
  try {
    await server.listen();
  } catch (error) {
    await server.close().catch(() => undefined);
    throw error;
  }
  const shown = options.host === '0.0.0.0' ? 'localhost' : options.host;
  return { url: `http://${shown}:${options.port}/`, close: () => server.close() };
}
