// @ts-check
// Serves the browser agent example: bundles app.ts with esbuild for the browser (so that
// 'parley-mesh' resolves to the package's browser entry, as in any app that installed it) and
// serves index.html, style.css and the bundle on 127.0.0.1 (a loopback http origin is a secure
// context: WebCrypto and IndexedDB work).
//   node serve.mjs [--relay <ws multiaddr>] [--port 8080]
// Without --relay it takes the WebSocket address from ./.parley/relay/multiaddrs, which a relay
// started in this directory (npm start, or npx parley-mesh relay) writes.
import { readFile } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const HERE = dirname(fileURLToPath(import.meta.url))

/** The files served from this folder besides the bundle. */
const STATIC = ['index.html', 'style.css']

/** @type {Record<string, string>} */
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json'
}

/**
 * Bundles app.ts for the browser: platform 'browser' picks the `browser` conditions of the
 * package's "exports" and "imports"; one ES module and its source map, kept in memory.
 * @returns {Promise<{ files: Map<string, Uint8Array>, inputs: string[] }>}
 *   the output files by name (app.js, app.js.map), and every input file esbuild read
 */
export async function bundleApp () {
  const result = await build({
    entryPoints: [join(HERE, 'app.ts')],
    absWorkingDir: HERE,
    outdir: HERE,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: 'linked',
    write: false,
    metafile: true,
    logLevel: 'silent'
  })
  const files = new Map(result.outputFiles.map(f => [f.path.slice(HERE.length + 1), f.contents]))
  return { files, inputs: Object.keys(result.metafile.inputs) }
}

/**
 * Bundles the app and serves the page on `host` (127.0.0.1) and `port` (0: one the OS picks).
 * @param {{ relay?: string, port?: number, host?: string }} [options]
 * @returns {Promise<{ url: string, inputs: string[], close: () => Promise<void> }>}
 *   `url` opens the page (with `?relay=` when a relay was given); `inputs` are what esbuild bundled
 */
export async function serveExample (options = {}) {
  const host = options.host ?? '127.0.0.1'
  const { files, inputs } = await bundleApp()
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const name = path === '/' ? 'index.html' : path.slice(1)
    const send = (/** @type {Uint8Array | string} */ body) => {
      res.writeHead(200, { 'content-type': TYPES[extname(name)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body)
    }
    const bundled = files.get(name)
    if (req.method !== 'GET') res.writeHead(405).end()
    else if (bundled !== undefined) send(bundled)
    else if (STATIC.includes(name)) readFile(join(HERE, name)).then(send, () => { res.writeHead(404).end() })
    else res.writeHead(404).end()
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => { resolve(undefined) })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.port
  const query = options.relay === undefined ? '' : `?relay=${encodeURIComponent(options.relay)}`
  return {
    url: `http://${host}:${port}/${query}`,
    inputs,
    close: async () => new Promise(resolve => {
      server.closeAllConnections()
      server.close(() => { resolve() })
    })
  }
}

/** The WebSocket address a relay started in this directory wrote, if any. */
function localRelay () {
  const file = join('.parley', 'relay', 'multiaddrs')
  if (!existsSync(file)) return undefined
  return readFileSync(file, 'utf8').split('\n').find(a => /\/wss?\//.test(a))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { relay: { type: 'string' }, port: { type: 'string', default: '8080' } } })
  const relay = values.relay ?? localRelay()
  const served = await serveExample({ port: Number(values.port), ...(relay === undefined ? {} : { relay }) })
  console.log(`the browser agent example: ${served.url}`)
  if (relay === undefined) console.log('(no relay given: pass --relay <its /ws multiaddr>, or paste one into the page)')
  process.once('SIGINT', () => { void served.close().then(() => process.exit(0)) })
}
