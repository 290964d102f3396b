/**
 * Builds the dashboard page: bundles `src/dashboard/ui/main.ts` (and the CSS
 * it imports) with esbuild into `dist/src/dashboard/assets/`, next to a copy
 * of `index.html`. Run by `npm run build` (so by `npm install` and
 * `npm start` too); everything the page needs is served locally, no CDN.
 */
import { build } from 'esbuild'
import { copyFile, mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { DEFAULT_ASSETS_DIR } from './server.js'

/** The UI sources (this file runs from dist/src/dashboard/). */
const UI_DIR = fileURLToPath(new URL('../../../src/dashboard/ui/', import.meta.url))

export async function bundleDashboard (outDir = DEFAULT_ASSETS_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true })
  await build({
    entryPoints: { app: UI_DIR + 'main.ts' },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning'
  })
  await copyFile(UI_DIR + 'index.html', outDir + 'index.html')
  await copyFile(UI_DIR + 'favicon.svg', outDir + 'favicon.svg')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await bundleDashboard()
}
