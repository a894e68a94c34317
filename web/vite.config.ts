/**
 * The playground's vite config: `npm run web` serves it, `npm run build:web` writes static files
 * to web/dist. `biflow` resolves to the library's browser entry in this repository, so the page
 * imports it exactly as an application would import the published package.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: { alias: { biflow: fileURLToPath(new URL('../src/browser.ts', import.meta.url)) } },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 6000, target: 'es2022' },
  server: { port: 5173 },
});
