// Vite for the web app: `vite build` writes static files to dist/; in development scripts/web-app.ts
// runs this config's dev server with /graphql proxied to the gateway (see docs/web.md).
import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset URLs: the built app works under any path prefix behind a proxy.
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  // graphql-ws is plain ESM: serving it as is avoids a pre-bundling step (and a page reload when it finishes).
  optimizeDeps: { noDiscovery: true, include: [] },
});
