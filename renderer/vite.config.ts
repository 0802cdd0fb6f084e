// Builds the renderer into dist/renderer with relative asset paths, so the same files load from
// file:// in Electron and from the daemon's web server. `vite build --config renderer/vite.config.ts`
// from the repo root. For development against a running daemon:
//   PEERFOLD_DAEMON=http://127.0.0.1:<ui-port> npx vite --config renderer/vite.config.ts
// (open the daemon's printed URL once first so the browser holds its cookie for 127.0.0.1).
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../dist/renderer', import.meta.url));

// Strict CSP in the built page only (the dev server needs inline scripts for hot reload).
// connect-src allows the web UI's WebSocket back to the daemon that served the page.
const csp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'peerfold-csp',
    apply: 'build',
    transformIndexHtml(html) {
      return html.replace(
        '<meta charset="UTF-8" />',
        `<meta charset="UTF-8" />\n    <meta http-equiv="Content-Security-Policy" content="${csp}" />`,
      );
    },
  };
}

const daemon = process.env.PEERFOLD_DAEMON;

export default defineConfig({
  root: here,
  base: './',
  plugins: [react(), contentSecurityPolicy()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
  },
  server: daemon ? { proxy: { '/api': { target: daemon, ws: true, changeOrigin: false } } } : undefined,
});
