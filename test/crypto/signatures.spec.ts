import { expect } from 'chai'
import * as ed from '@noble/ed25519'
import { candidateBackends, conforms, verifySignature, getBackend, createSigner } from '../../src/crypto/signature.js'
import type { Ed25519Backend } from '../../src/crypto/signature.js'
import { SMALL_ORDER_ENCODINGS, nobleBackend, isAcceptablePublicKey, hasAcceptableShape } from '../../src/crypto/ed25519.js'
import { EQUATION_CASES } from '../../src/crypto/self-check.js'
import { fromHex, toHex, utf8 } from '../../src/crypto/bytes.js'
import vectors from '../../protocols/signatures/vectors.json' with { type: 'json' }

describe('signature rule (protocols/signatures)', () => {
  for (const backend of candidateBackends()) {
    describe(`backend ${backend.name}`, () => {
      it('conforms to the rule, on the start-up probe and on every vector', async () => {
        expect(await conforms(backend)).to.equal(true)
        expect(await conforms(backend, vectors.cases)).to.equal(true)
      })
      for (const v of vectors.cases) {
        it(`vector ${v.name}: ${v.valid ? 'accepts' : 'rejects'}`, async () => {
          const ok = await verifySignature(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature), backend)
          expect(ok).to.equal(v.valid)
        })
      }
      it('signs deterministically, identically to RFC 8032 test 1', async () => {
        // RFC 8032 §7.1 TEST 1
        const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
        const signer = await backend.signer(seed)
        expect(toHex(signer.publicKey)).to.equal('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
        expect(toHex(await signer.sign(new Uint8Array(0)))).to.equal(
          'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')
      })
    })
  }

  it('a cofactored verifier fails the conformance check, so it is never selected', async () => {
    const cofactored: Ed25519Backend = {
      name: 'noble',
      signer: nobleBackend.signer,
      equation: (pk, m, s) => ed.verify(s, m, pk, { zip215: false })
    }
    expect(await conforms(cofactored)).to.equal(false)
  })

  it('the start-up probe is exactly the vectors that reach the equation (rules 1-4 pass)', () => {
    const reaching = vectors.cases
      .filter(c => isAcceptablePublicKey(fromHex(c.publicKey)) && hasAcceptableShape(fromHex(c.signature)))
      .map(({ name, publicKey, message, signature, valid }) => ({ name, publicKey, message, signature, valid }))
    expect(EQUATION_CASES).to.deep.equal(reaching)
    expect(EQUATION_CASES.some(c => !c.valid) && EQUATION_CASES.some(c => c.valid)).to.equal(true)
  })

  it('the vectors include cases where a cofactored verifier disagrees', () => {
    const disagreements = vectors.cases.filter(c => c.valid !== c.cofactoredValid)
    expect(disagreements.length).to.be.greaterThan(4)
  })

  it('lists exactly the small-order points', () => {
    const T = ed.Point.fromHex(SMALL_ORDER_ENCODINGS[2] ?? '')
    const canonical = new Set<string>()
    let q = ed.Point.ZERO
    for (let i = 0; i < 8; i++) { canonical.add(q.toHex()); q = q.add(T) }
    expect(canonical.size).to.equal(8)
    for (const hex of canonical) expect(SMALL_ORDER_ENCODINGS).to.include(hex)
    for (const hex of SMALL_ORDER_ENCODINGS) expect(ed.Point.fromHex(hex, true).isSmallOrder()).to.equal(true)
  })

  it('selects a native backend on Node', async () => {
    expect((await getBackend()).name).to.equal('node')
  })

  it('round-trips sign and verify on the selected backend', async () => {
    const signer = await createSigner(new Uint8Array(32).fill(7))
    const msg = utf8('hello')
    const sig = await signer.sign(msg)
    expect(await verifySignature(signer.publicKey, msg, sig)).to.equal(true)
    sig[10] = (sig[10] ?? 0) ^ 1
    expect(await verifySignature(signer.publicKey, msg, sig)).to.equal(false)
  })
})
