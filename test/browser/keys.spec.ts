/**
 * Parley keys in a real Chromium: the signature rule's vectors on the
 * browser's backends, a browser identity that survives a reload (same peer
 * id, signatures that Node verifies), and a signing key that cannot be
 * exported. The page is `keys-page.ts`, bundled for the browser.
 */
import { expect } from 'chai'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { ROOT, launchChromium, requireChromium, servePage } from './harness.js'
import type { Served } from './harness.js'
import type { KeysPage, SignatureCase } from './keys-page.js'
import { verifySignature } from '../../src/crypto/signature.js'
import { ed25519KeyOfPeer } from '../../src/crypto/peer-key.js'
import { fromHex, toHex, utf8 } from '../../src/crypto/bytes.js'
import { createIdentity } from '../../src/identity/index.js'

type Api = KeysPage

/** Calls `window.parleyKeys[method](...args)` in the page. */
async function call<K extends keyof Api> (page: Page, method: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
  return page.evaluate(async ([m, a]) => {
    const api = (globalThis as unknown as { parleyKeys: Record<string, (...x: unknown[]) => unknown> }).parleyKeys
    return api[m as string]?.(...(a as unknown[]))
  }, [method, args] as const) as Promise<Awaited<ReturnType<Api[K]>>>
}

/** Every case of every JSON file in protocols/signatures. */
async function signatureVectors (): Promise<SignatureCase[]> {
  const dir = join(ROOT, 'protocols', 'signatures')
  const cases: SignatureCase[] = []
  for (const file of (await readdir(dir)).filter(f => f.endsWith('.json')).sort()) {
    const json = JSON.parse(await readFile(join(dir, file), 'utf8')) as { cases: SignatureCase[] }
    cases.push(...json.cases)
  }
  return cases
}

describe('keys in the browser (Chromium)', function () {
  this.timeout(120_000)
  let served: (Served & { dir: string }) | undefined
  let context: BrowserContext | undefined
  let page: Page

  before(async function () {
    requireChromium(this)
    served = await servePage('dist/test/browser/keys-page.js', 'parley keys')
    context = await launchChromium(served.dir)
    page = await context.newPage()
    page.on('pageerror', err => { console.error('page error:', err) })
    await page.goto(served.url)
    await page.waitForFunction(() => 'parleyKeys' in globalThis)
  })

  after(async () => {
    await context?.close()
    await served?.close()
    if (served !== undefined) await rm(served.dir, { recursive: true, force: true })
  })

  it('selects WebCrypto in Chromium, which has Ed25519 and passes the rule', async () => {
    const { selected, candidates } = await call(page, 'backends')
    expect(candidates).to.deep.equal(['webcrypto', 'noble'])
    expect(selected).to.equal('webcrypto')
  })

  for (const backend of ['webcrypto', 'noble']) {
    it(`every vector of protocols/signatures gives the rule's verdict through verifySignature on ${backend}`, async () => {
      const cases = await signatureVectors()
      expect(cases.length).to.be.greaterThan(10)
      expect(cases.some(c => c.valid) && cases.some(c => !c.valid)).to.equal(true)
      const { verdicts, conforms } = await call(page, 'vectors', backend, cases)
      expect(verdicts).to.deep.equal(Object.fromEntries(cases.map(c => [c.name, c.valid])))
      expect(conforms).to.equal(true)
    })
  }

  it('a browser identity survives a reload: same peer id and keys, and what it signs after the reload verifies in Node', async () => {
    const node = await createIdentity({ kind: 'agent' })
    const first = await call(page, 'identity', 'parley-reload', 'human')
    expect(first.peerId).to.match(/^12D3KooW/)
    expect(toHex(ed25519KeyOfPeer(first.peerId) ?? new Uint8Array())).to.equal(first.publicKey)
    const sharedBefore = await call(page, 'shared', 'parley-reload', toHex(node.x25519PublicKey))
    expect(sharedBefore).to.equal(toHex(node.x25519SharedSecret(fromHex(first.x25519))))

    await page.reload()
    await page.waitForFunction(() => 'parleyKeys' in globalThis)
    const again = await call(page, 'identity', 'parley-reload', 'human')
    expect(again).to.deep.equal(first)

    const message = utf8('signed after the reload')
    const { sig, libp2pSig } = await call(page, 'sign', 'parley-reload', toHex(message))
    expect(libp2pSig, 'libp2p signs with the same key').to.equal(sig)
    const publicKey = ed25519KeyOfPeer(again.peerId)
    expect(publicKey).to.not.equal(undefined)
    expect(await verifySignature(publicKey as Uint8Array, message, fromHex(sig))).to.equal(true)
    expect(await verifySignature(publicKey as Uint8Array, utf8('something else'), fromHex(sig))).to.equal(false)
    expect(await call(page, 'shared', 'parley-reload', toHex(node.x25519PublicKey))).to.equal(sharedBefore)

    // another database is another identity
    const other = await call(page, 'identity', 'parley-other', 'human')
    expect(other.peerId).to.not.equal(first.peerId)
  })

  it('the signing key is a non-extractable CryptoKey: every export rejects, and libp2p\'s raw throws ERR_KEY_NOT_EXTRACTABLE', async () => {
    await call(page, 'identity', 'parley-extract', 'agent')
    const stored = await call(page, 'stored', 'parley-extract')
    expect(stored).to.deep.equal({ type: 'webcrypto', extractable: false, exports: { pkcs8: 'InvalidAccessError', jwk: 'InvalidAccessError', raw: 'InvalidAccessError' } })
    const raw = await call(page, 'raw', 'parley-extract')
    expect(raw).to.include({ name: 'IdentityError', code: 'ERR_KEY_NOT_EXTRACTABLE' })
  })

  it('libp2p takes the non-extractable key: createLibp2p starts with the identity\'s peer id', async () => {
    const { peerId } = await call(page, 'identity', 'parley-extract', 'agent')
    expect(await call(page, 'libp2pPeerId', 'parley-extract')).to.equal(peerId)
  })

  it('keys: \'seed\' keeps a noble seed instead, which also survives a reload', async () => {
    const first = await call(page, 'identity', 'parley-seed', 'agent', 'seed')
    expect((await call(page, 'stored', 'parley-seed')).type).to.equal('seed')
    expect(await call(page, 'raw', 'parley-seed')).to.equal('readable')
    await page.reload()
    await page.waitForFunction(() => 'parleyKeys' in globalThis)
    expect(await call(page, 'identity', 'parley-seed', 'agent')).to.deep.equal(first)
    const message = utf8('seed identity')
    const { sig } = await call(page, 'sign', 'parley-seed', toHex(message))
    expect(await verifySignature(fromHex(first.publicKey), message, fromHex(sig))).to.equal(true)
  })

  it('two tabs creating the identity of one database at once end up with the same one', async () => {
    const tabs = [page, await context?.newPage()].filter((p): p is Page => p !== undefined)
    expect(tabs).to.have.length(2)
    const second = tabs[1] as Page
    await second.goto(served?.url ?? '')
    await second.waitForFunction(() => 'parleyKeys' in globalThis)
    try {
      const ids = await Promise.all(tabs.map(async p => call(p, 'identity', 'parley-race', 'agent')))
      expect(ids[0]?.peerId).to.match(/^12D3KooW/)
      expect(ids[1]).to.deep.equal(ids[0])
    } finally {
      await second.close()
    }
  })

  it('a stored identity of another kind is ERR_KIND_MISMATCH, not a new identity', async () => {
    const { peerId } = await call(page, 'identity', 'parley-kind', 'agent')
    const err = await call(page, 'loadError', 'parley-kind', 'human')
    expect(err).to.include({ name: 'IdentityError', code: 'ERR_KIND_MISMATCH' })
    expect((await call(page, 'identity', 'parley-kind', 'agent')).peerId).to.equal(peerId)
  })
})
