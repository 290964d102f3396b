/**
 * Nothing Node-only on the browser path: each browser entry point bundles
 * with esbuild for the browser (platform `browser`, no externals), where any
 * `node:` builtin is a build error. To check a new browser entry (the agent's,
 * say), add it to {@link BROWSER_ENTRIES}.
 */
import { expect } from 'chai'
import { join } from 'node:path'
import ts from 'typescript'
import { bundleForBrowser, buildErrors, ROOT } from './harness.js'

/** Browser entry points: compiled files under dist/, or a package subpath as a browser app imports it. */
export const BROWSER_ENTRIES: ReadonlyArray<{ name: string, entry: string }> = [
  { name: 'crypto', entry: 'dist/src/crypto/index.js' },
  { name: 'identity (browser entry)', entry: 'dist/src/identity/browser.js' },
  { name: 'crypto hash', entry: 'dist/src/crypto/hash.js' },
  { name: 'the package (browser entry: createAgent and the rest)', entry: 'dist/src/browser.js' },
  { name: 'the agent (browser assembly)', entry: 'dist/src/agent/browser.js' }
]

/** Package subpaths a browser app imports: bundlers must pick their browser variants. */
export const BROWSER_SUBPATHS: readonly string[] = ['parley-mesh', 'parley-mesh/agent', 'parley-mesh/crypto', 'parley-mesh/identity']

describe('nothing Node-only on the browser path (esbuild, platform browser)', function () {
  this.timeout(60_000)

  for (const { name, entry } of BROWSER_ENTRIES) {
    it(`${name}: ${entry} bundles for the browser`, async () => {
      const { inputs } = await bundleForBrowser(entry)
      expect(inputs.filter(i => i.startsWith('node:'))).to.deep.equal([])
      expect(inputs.some(i => i.endsWith('node-crypto.js')), 'the Node variant of #node-crypto').to.equal(false)
    })
  }

  it(`the package subpaths (${BROWSER_SUBPATHS.join(', ')}) resolve to their browser variants`, async () => {
    const contents = BROWSER_SUBPATHS.map((p, i) => `export * as m${i} from '${p}'`).join('\n')
    const { inputs } = await bundleForBrowser({ contents })
    expect(inputs).to.include('dist/src/identity/browser.js')
    expect(inputs).to.include('dist/src/browser.js')
    expect(inputs).to.include('dist/src/agent/browser.js')
    expect(inputs).to.include('dist/src/crypto/node-crypto-browser.js')
    expect(inputs.filter(i => i.endsWith('/file-store.js') || i.endsWith('/node-crypto.js') || i.startsWith('node:'))).to.deep.equal([])
  })

  it('the check bites: the Node entry of identity (key file, node:fs) does not bundle for the browser', async () => {
    let errors: string[] = []
    try {
      await bundleForBrowser('dist/src/identity/index.js')
    } catch (err) {
      errors = buildErrors(err)
    }
    expect(errors).to.include('Could not resolve "node:fs/promises"')
  })

  it('TypeScript with the browser condition types a browser app against the browser entries', () => {
    const options: ts.CompilerOptions = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, customConditions: ['browser'] }
    const from = join(ROOT, 'app.ts')
    const resolved = (name: string): string | undefined => ts.resolveModuleName(name, from, options, ts.sys).resolvedModule?.resolvedFileName.slice(join(ROOT, 'x').length - 1)
    expect([resolved('parley-mesh'), resolved('parley-mesh/agent'), resolved('parley-mesh/identity')]).to.deep.equal(['dist/src/browser.d.ts', 'dist/src/agent/browser.d.ts', 'dist/src/identity/browser.d.ts'])
    // without it, the Node declarations
    expect(ts.resolveModuleName('parley-mesh', from, { ...options, customConditions: [] }, ts.sys).resolvedModule?.resolvedFileName).to.equal(join(ROOT, 'dist/src/index.d.ts'))
  })
})
