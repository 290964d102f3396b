import { expect } from 'chai'
import { verifyEnvelope, ReplayGuard, openSealed } from '../../src/envelope/index.js'
import type { VerifyOptions } from '../../src/envelope/index.js'
import { fromHex, utf8 } from '../../src/crypto/bytes.js'
import { x25519 } from '@noble/curves/ed25519.js'
import vectors from '../../protocols/envelope/vectors.json' with { type: 'json' }

type Case = typeof vectors.cases[number] & { hex?: string, text?: string, opened?: unknown, recipientX25519Secret?: string }

function frame (c: { text?: string, hex?: string }): Uint8Array {
  return c.text !== undefined ? utf8(c.text) : fromHex(c.hex ?? '')
}

async function outcome (bytes: Uint8Array, options: VerifyOptions): Promise<string> {
  try {
    await verifyEnvelope(bytes, options)
    return 'valid'
  } catch (err) {
    expect(err).to.have.property('name', 'EnvelopeError')
    return (err as { code: string }).code
  }
}

describe('envelope vectors (protocols/envelope/vectors.json)', () => {
  for (const c of vectors.cases as Case[]) {
    it(`${c.name}: ${c.expect}`, async () => {
      expect(await outcome(frame(c), { ...c.options, replayGuard: new ReplayGuard() } as VerifyOptions)).to.equal(c.expect)
    })
  }

  for (const c of (vectors.cases as Case[]).filter(c => c.opened !== undefined)) {
    it(`${c.name}: opens to the expected body`, async () => {
      const decoded = await verifyEnvelope(frame(c), c.options as VerifyOptions)
      const secret = fromHex(c.recipientX25519Secret ?? '')
      const body = openSealed(decoded.envelope, {
        x25519PublicKey: x25519.getPublicKey(secret),
        x25519SharedSecret: (pub) => x25519.getSharedSecret(secret, pub)
      })
      expect(body).to.deep.equal(c.opened)
    })
  }

  for (const s of vectors.sequences) {
    it(`sequence ${s.name}: ${s.expect.join(', ')}`, async () => {
      const guard = new ReplayGuard()
      const got: string[] = []
      for (const f of s.frames) got.push(await outcome(utf8(f), { ...s.options, replayGuard: guard } as VerifyOptions))
      expect(got).to.deep.equal(s.expect)
    })
  }

  it('covers every envelope error code except ERR_UNSEALABLE (which opening raises)', () => {
    const codes = new Set((vectors.cases as Case[]).map(c => c.expect).concat(vectors.sequences.flatMap(s => s.expect)))
    for (const code of ['ERR_OVERSIZE', 'ERR_MALFORMED_JSON', 'ERR_NON_CANONICAL', 'ERR_MALFORMED_ENVELOPE', 'ERR_UNSUPPORTED_VERSION', 'ERR_MALFORMED_JSONRPC', 'ERR_STALE', 'ERR_FUTURE', 'ERR_BAD_SIGNATURE', 'ERR_SIGNER_MISMATCH', 'ERR_WRONG_RECIPIENT', 'ERR_REPLAYED']) {
      expect(codes.has(code), code).to.equal(true)
    }
  })
})
