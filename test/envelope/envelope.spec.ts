import { expect } from 'chai'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import {
  signEnvelope, verifyEnvelope, decodeEnvelope, signSealedEnvelope, openSealed, ReplayGuard
} from '../../src/envelope/index.js'
import type { JsonRpcMessage, VerifyOptions } from '../../src/envelope/index.js'
import { createIdentity } from '../../src/identity/index.js'
import type { Identity } from '../../src/identity/index.js'
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js'
import { testKey } from '../vectors/keys.js'
import { signRaw } from '../vectors/envelope.js'

const body: JsonRpcMessage = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'quote', arguments: { job: 'leaking tap', postcode: 'SW1A 1AA' } } }

async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'valid'
  } catch (err) {
    expect(err).to.have.property('name', 'EnvelopeError')
    return (err as { code: string }).code
  }
}

describe('envelope', () => {
  let alice: Identity
  let bob: Identity
  let mallory: Identity

  before(async () => {
    alice = await createIdentity({ kind: 'agent' })
    bob = await createIdentity({ kind: 'human' })
    mallory = await createIdentity({ kind: 'agent' })
  })

  it('signs what the spec defines: the same bytes as signing the canonical JSON by hand', async () => {
    const key = testKey('alice')
    const fields = { id: 'AAECAwQFBgcICQoLDA0ODw', ts: 1_800_000_000_000, nonce: 'EBESExQVFhcYGRobHB0eHw', handle: 'alice', to: { handle: 'bob' }, body }
    const { bytes, envelope } = await signEnvelope(key, fields)
    const byHand = await signRaw(key, { v: 1, id: fields.id, ts: fields.ts, nonce: fields.nonce, from: { handle: 'alice', peer: key.peerIdString }, to: fields.to, body })
    expect(fromUtf8(bytes)).to.equal(byHand)
    expect(envelope.from).to.deep.equal({ handle: 'alice', peer: key.peerIdString })
  })

  it('round-trips between real identities with every check on', async () => {
    const guard = new ReplayGuard()
    const { bytes } = await signEnvelope(alice, { handle: 'alice', to: { peer: bob.peerIdString }, body })
    const decoded = await verifyEnvelope(bytes, { expectedSigner: alice.peerIdString, self: { peer: bob.peerIdString }, replayGuard: guard })
    expect(decoded.envelope.body).to.deep.equal(body)
    expect(await codeOf(verifyEnvelope(bytes, { replayGuard: guard }))).to.equal('ERR_REPLAYED')
  })

  it('refuses to sign a draft a receiver would refuse, with the receiver\'s code', async () => {
    expect(await codeOf(signEnvelope(alice, { to: { handle: 'Bob' }, body }))).to.equal('ERR_MALFORMED_ENVELOPE')
    expect(await codeOf(signEnvelope(alice, { to: {}, body }))).to.equal('ERR_MALFORMED_ENVELOPE')
    expect(await codeOf(signEnvelope(alice, { to: { handle: 'bob' }, body: { jsonrpc: '2.0' } as unknown as JsonRpcMessage }))).to.equal('ERR_MALFORMED_JSONRPC')
    expect(await codeOf(signEnvelope(alice, { to: { handle: 'bob' }, body: { jsonrpc: '2.0', method: 'x', params: { n: NaN } } }))).to.equal('ERR_MALFORMED_JSON')
    expect(await codeOf(signEnvelope(alice, { to: { handle: 'bob' }, body: { jsonrpc: '2.0', method: 'x', params: { text: '\ud800' } } }))).to.equal('ERR_MALFORMED_JSON')
  })

  it('fails with the right code when any single byte of a signed envelope is flipped', async function () {
    this.timeout(60_000)
    const { bytes } = await signEnvelope(alice, { handle: 'alice', to: { handle: 'bob', peer: bob.peerIdString }, body })
    const options: VerifyOptions = { maxAgeMs: Infinity, maxSkewMs: Infinity }
    const seen = new Map<string, number>()
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x20, 0x80]) {
        const mutated = bytes.slice()
        mutated[i] = (mutated[i] ?? 0) ^ mask
        // what the structure alone says: any structural failure must surface with that same code
        let expected = 'ERR_BAD_SIGNATURE'
        try { decodeEnvelope(mutated) } catch (err) { expected = (err as { code: string }).code }
        const got = await codeOf(verifyEnvelope(mutated, options))
        expect(got, `byte ${i} ^ ${mask}`).to.equal(expected)
        expect(got).to.not.equal('valid')
        seen.set(got, (seen.get(got) ?? 0) + 1)
      }
    }
    // a structurally valid mutation is always caught by the signature
    expect(seen.get('ERR_BAD_SIGNATURE') ?? 0).to.be.greaterThan(50)
  })

  it('never throws anything but an EnvelopeError on arbitrary input', async () => {
    const { bytes } = await signEnvelope(alice, { to: { handle: 'bob' }, body })
    const text = fromUtf8(bytes)
    await fc.assert(fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        fc.jsonValue().map(v => utf8(JSON.stringify(v) ?? 'null')),
        fc.tuple(fc.nat(text.length), fc.nat(text.length), fc.string()).map(([a, b, s]) => utf8(text.slice(0, Math.min(a, b)) + s + text.slice(Math.max(a, b))))
      ),
      async (input) => {
        const code = await codeOf(verifyEnvelope(input))
        expect(code).to.match(/^ERR_|^valid$/)
      }
    ), { numRuns: 2000 })
  })

  describe('sealed bodies', () => {
    it('only the recipient can open; relays see ciphertext', async () => {
      const { bytes } = await signSealedEnvelope(alice, { to: { handle: 'bob' }, body, recipientKey: bob.x25519PublicKey })
      expect(fromUtf8(bytes)).to.not.include('leaking tap')
      const { envelope } = await verifyEnvelope(bytes)
      expect(openSealed(envelope, bob)).to.deep.equal(body)
      expect(() => openSealed(envelope, mallory)).to.throw().with.property('code', 'ERR_UNSEALABLE')
    })

    it('a ciphertext re-wrapped in another sender\'s envelope does not open', async () => {
      const { envelope } = await signSealedEnvelope(alice, { to: { handle: 'bob' }, body, recipientKey: bob.x25519PublicKey })
      const sealed = envelope.sealed
      if (sealed === undefined) throw new Error('not sealed')
      const rewrapped = await signEnvelope(mallory, { id: envelope.id, to: { handle: 'bob' }, sealed })
      const decoded = await verifyEnvelope(rewrapped.bytes)
      expect(() => openSealed(decoded.envelope, bob)).to.throw().with.property('code', 'ERR_UNSEALABLE')
    })

    it('an altered ciphertext fails the signature first', async () => {
      const { bytes } = await signSealedEnvelope(alice, { to: { handle: 'bob' }, body, recipientKey: bob.x25519PublicKey })
      const text = fromUtf8(bytes)
      const at = text.indexOf('"ct":"') + 10
      const flipped = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
      expect(await codeOf(verifyEnvelope(utf8(flipped)))).to.equal('ERR_BAD_SIGNATURE')
    })
  })
})

describe('replay guard', () => {
  it('refuses a replay and accepts a fresh key', () => {
    const g = new ReplayGuard({ windowMs: 60_000 })
    expect(g.check('a', 1000, 1000)).to.equal('fresh')
    expect(g.check('a', 1000, 2000)).to.equal('replayed')
    expect(g.check('b', 1000, 2000)).to.equal('fresh')
  })

  it('forgets keys once they fall out of the window, and refuses their timestamps', () => {
    const g = new ReplayGuard({ windowMs: 60_000 })
    g.check('a', 0, 0)
    expect(g.check('b', 120_000, 120_000)).to.equal('fresh')
    expect(g.size).to.equal(1)
    expect(g.check('a', 0, 120_000)).to.equal('too-old')
  })

  it('at capacity drops its oldest bucket and raises its floor instead of forgetting silently', () => {
    const g = new ReplayGuard({ windowMs: 60_000, capacity: 100, bucketMs: 1000 })
    for (let i = 0; i < 100; i++) expect(g.check(`k${i}`, 10_000 + Math.floor(i / 10) * 1000, 30_000)).to.equal('fresh')
    expect(g.check('new', 29_000, 30_000)).to.equal('fresh')
    expect(g.size).to.equal(91)
    // k0 was forgotten, but its timestamp is now below the floor: still refused
    expect(g.floor).to.equal(11_000)
    expect(g.check('k0', 10_000, 30_000)).to.equal('too-old')
  })

  it('reports the keys it drops (expired, or early at capacity) to onDrop, and starts from a given floor', () => {
    const dropped: string[][] = []
    const g = new ReplayGuard({ windowMs: 60_000, capacity: 2, bucketMs: 1000, floor: 5_000, onDrop: (keys) => { dropped.push([...keys]) } })
    expect(g.check('old', 4_000, 10_000)).to.equal('too-old')
    g.check('a', 6_000, 10_000)
    g.check('b', 7_000, 10_000)
    g.check('c', 8_000, 10_000) // full: drops a's bucket, floor to 7 000
    expect(dropped).to.deep.equal([['a']])
    expect(g.floor).to.equal(7_000)
    g.check('d', 70_000, 70_000) // b and c expire
    expect(dropped).to.deep.equal([['a'], ['b'], ['c']])
  })

  it('forget: a key whose envelope was not acted on can be accepted once later; its old bucket does not drop it again', () => {
    const dropped: string[] = []
    const g = new ReplayGuard({ windowMs: 60_000, bucketMs: 1000, onDrop: (keys) => { dropped.push(...keys) } })
    expect(g.check('k', 1_000, 1_000)).to.equal('fresh')
    g.forget('k')
    expect(g.size).to.equal(0)
    // the same key again, with a later ts (the signer may reuse id and nonce): filed in a later bucket
    expect(g.check('k', 30_000, 30_000)).to.equal('fresh')
    expect(g.check('x', 61_500, 61_500)).to.equal('fresh') // expires the first bucket
    expect(g.check('k', 30_000, 61_500), 'still held').to.equal('replayed')
    expect(dropped).to.deep.equal([])
  })

  it('holds memory bounded under 1,000,000 distinct ids', function () {
    this.timeout(120_000)
    // a forced collection before each reading, whether or not node was started with --expose-gc
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const capacity = 50_000
    const g = new ReplayGuard({ windowMs: 300_000, capacity })
    const now = 1_800_000_000_000
    gc()
    const before = process.memoryUsage().heapUsed
    let maxSize = 0
    let accepted = 0
    for (let i = 0; i < 1_000_000; i++) {
      const ts = now - 300_000 + Math.floor(i * 0.3)
      if (g.check(`12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba/${i.toString(36).padStart(22, '0')}/nonce${i}`, ts, now + Math.floor(i * 0.3)) === 'fresh') accepted++
      if (g.size > maxSize) maxSize = g.size
    }
    gc()
    const grown = process.memoryUsage().heapUsed - before
    expect(maxSize).to.be.at.most(capacity)
    expect(accepted).to.be.greaterThan(900_000)
    // 50 000 keys of ~100 characters: a few MiB; 1 000 000 would be well over 100 MiB
    expect(grown).to.be.below(40 * 1024 * 1024)
  })
})
