/**
 * Fuzzing the envelope decoders (src/envelope): `verifyEnvelope` on arbitrary
 * bytes and on mutations of the valid vectors, `validateJsonRpc` on arbitrary
 * values, and `openSealed` on altered sealed payloads. Every refusal is an
 * `EnvelopeError` with a code of protocols/envelope §7; a mutated envelope
 * that is accepted is byte for byte the original, so no mutation makes a
 * valid signature by anyone.
 *
 * Budget: see test/fuzz/helpers.ts (`PARLEY_FUZZ_RUNS`, `PARLEY_FUZZ_SEED`).
 */
import { expect } from 'chai'
import fc from 'fast-check'
import { x25519 } from '@noble/curves/ed25519.js'
import {
  EnvelopeErrorCode, ReplayGuard, isNotification, isRequest, isResponse, openSealed, validateJsonRpc, verifyEnvelope
} from '../../src/envelope/index.js'
import type { DecodedEnvelope, Envelope, VerifyOptions } from '../../src/envelope/index.js'
import { fromHex } from '../../src/crypto/bytes.js'
import vectors from '../../protocols/envelope/vectors.json' with { type: 'json' }
import {
  TIMEOUT, anyString, deepArrayText, deepObjectText, junkBytes, mutatedJsonBytes, mutatedJsonValues, outcome, params, someValue, utf8, withinLimit
} from './helpers.js'
import type { Outcome } from './helpers.js'

const CODES = Object.values(EnvelopeErrorCode)
const NAMES = ['v', 'id', 'ts', 'from', 'to', 'nonce', 'body', 'sealed', 'sig', 'peer', 'handle', 'jsonrpc', 'method', 'params', 'result', 'error', 'code', 'message', 'data', 'alg', 'epk', 'ct']

interface Case { name: string, text?: string, options: Record<string, unknown>, expect: string, opened?: unknown, recipientX25519Secret?: string }
const cases = vectors.cases as Case[]
const valid = cases.filter(c => c.expect === 'valid' && c.text !== undefined)
const sealedCase = cases.find(c => c.opened !== undefined) as Case

const optionsOf = (c: Case): VerifyOptions => ({ ...c.options, replayGuard: new ReplayGuard() } as VerifyOptions)

async function verify (bytes: Uint8Array, options: VerifyOptions): Promise<Outcome<DecodedEnvelope>> {
  return outcome(() => verifyEnvelope(bytes, options), 'EnvelopeError', CODES)
}

describe('fuzz: envelope', function () {
  this.timeout(TIMEOUT)

  before(async () => {
    // the first verification selects the signature backend (its self-check is not a decoder's time)
    const c = valid[0] as Case
    await verifyEnvelope(utf8(c.text as string), optionsOf(c))
  })

  it('verifyEnvelope: arbitrary bytes are refused with a typed code', async () => {
    const options = optionsOf(valid[0] as Case)
    await fc.assert(fc.asyncProperty(junkBytes(600), async bytes => {
      const got = await verify(bytes, options)
      expect(got.ok, 'junk accepted').to.equal(false)
    }), params(800))
  })

  it('verifyEnvelope: a mutated valid envelope is refused with a typed code, or is the original bytes from the original signer', async () => {
    const arb = fc.constantFrom(...valid).chain(c => fc.tuple(fc.constant(c), mutatedJsonBytes(c.text as string, NAMES)))
    await fc.assert(fc.asyncProperty(arb, async ([c, bytes]) => {
      const got = await verify(bytes, optionsOf(c))
      if (got.ok) {
        expect(Buffer.from(bytes).toString(), 'an accepted mutation').to.equal(c.text)
        expect(got.value.envelope.from.peer).to.equal(c.options.expectedSigner)
      }
    }), params(1000))
  })

  it('verifyEnvelope without a signer or recipient check: accepted mutations still verify only for the original signer', async () => {
    const arb = fc.constantFrom(...valid).chain(c => fc.tuple(fc.constant(c), mutatedJsonBytes(c.text as string, NAMES)))
    await fc.assert(fc.asyncProperty(arb, async ([c, bytes]) => {
      const got = await verify(bytes, { now: c.options.now as number })
      if (got.ok) {
        expect(got.value.envelope.from.peer).to.equal(c.options.expectedSigner)
        expect(Buffer.from(bytes).toString()).to.equal(c.text)
      }
    }), params(500))
  })

  it('validateJsonRpc: any value is a JSON-RPC message of exactly one kind, or ERR_MALFORMED_JSONRPC', async () => {
    const bodies = valid.map(c => (JSON.parse(c.text as string) as { body?: unknown }).body).filter(b => b !== undefined)
    const arb = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      someValue,
      fc.constantFrom(...bodies).chain(b => mutatedJsonValues(b, NAMES)),
      fc.record({ jsonrpc: fc.constant('2.0'), id: someValue, method: someValue, params: someValue, result: someValue, error: someValue }, { requiredKeys: ['jsonrpc'] })
    )
    await fc.assert(fc.asyncProperty(arb, async value => {
      const got = await outcome(() => validateJsonRpc(value), 'EnvelopeError', [EnvelopeErrorCode.MALFORMED_JSONRPC])
      if (got.ok) {
        expect(got.value).to.equal(value)
        const kinds = [isRequest(got.value), isNotification(got.value), isResponse(got.value)].filter(Boolean)
        expect(kinds).to.have.length(1)
      }
    }), params(1000))
  })

  it('openSealed: altered epk, ct, sender or id never open, and never throw anything but EnvelopeError', async () => {
    const decoded = await verifyEnvelope(utf8(sealedCase.text as string), optionsOf(sealedCase))
    const secret = fromHex(sealedCase.recipientX25519Secret as string)
    const recipient = { x25519PublicKey: x25519.getPublicKey(secret), x25519SharedSecret: (pub: Uint8Array) => x25519.getSharedSecret(secret, pub) }
    const original = decoded.envelope
    const sealed = original.sealed as NonNullable<Envelope['sealed']>
    const b64 = (max: number): fc.Arbitrary<string> => fc.uint8Array({ maxLength: max }).map(b => Buffer.from(b).toString('base64url'))
    const alter = (s: string): fc.Arbitrary<string> => fc.oneof(
      anyString(60), b64(80),
      fc.tuple(fc.nat(Math.max(0, s.length - 1)), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')).map(([i, ch]) => s.slice(0, i) + ch + s.slice(i + 1)),
      fc.nat(s.length).map(n => s.slice(0, n))
    )
    const arb = fc.oneof(
      alter(sealed.epk).map(epk => ({ ...original, sealed: { ...sealed, epk } })),
      alter(sealed.ct).map(ct => ({ ...original, sealed: { ...sealed, ct } })),
      alter(original.id).map(id => ({ ...original, id })),
      fc.constantFrom(...valid.map(c => (JSON.parse(c.text as string) as Envelope).from)).map(from => ({ ...original, from }))
    )
    await fc.assert(fc.asyncProperty(arb, async envelope => {
      const got = await outcome(() => openSealed(envelope, recipient), 'EnvelopeError', CODES)
      if (got.ok) {
        // only an unchanged sealed payload, sender and id open
        expect(envelope.sealed).to.deep.equal(sealed)
        expect(envelope.id).to.equal(original.id)
        expect(envelope.from.peer).to.equal(original.from.peer)
        expect(got.value).to.deep.equal(sealedCase.opened)
      }
    }), params(800))
  })

  it('large inputs are refused within a second: 1 MB, 100,000-deep bodies, deep nesting under the limit', async () => {
    const c = valid[0] as Case
    const options = { ...optionsOf(c), maxBytes: 4 * 1024 * 1024 }
    const envelope = JSON.parse(c.text as string) as Record<string, unknown>
    const inputs = [
      new Uint8Array(1024 * 1024).fill(0x5b), // a megabyte of '['
      utf8(deepArrayText(100_000)),
      utf8(deepObjectText(100_000)),
      // (JSON.stringify cannot write these depths: the text is spliced)
      utf8(JSON.stringify({ ...envelope, body: '@' }).replace('"@"', `{"jsonrpc":"2.0","method":"x","params":${deepArrayText(100_000)}}`)),
      utf8(JSON.stringify({ ...envelope, body: '@' }).replace('"@"', `{"jsonrpc":"2.0","method":"x","params":[${deepObjectText(100_000)}]}`)),
      utf8(JSON.stringify({ ...envelope, body: { jsonrpc: '2.0', method: 'x'.repeat(1024 * 1024) } })),
      utf8(JSON.stringify({ ...envelope, from: { peer: '12D3KooW' + 'z'.repeat(1024 * 1024) } }))
    ]
    for (const bytes of inputs) {
      for (const o of [options, optionsOf(c)]) {
        const got = await withinLimit(() => verify(bytes, o))
        expect(got?.ok).to.equal(false)
      }
    }
  })
})
