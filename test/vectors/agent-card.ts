/**
 * Generates `protocols/agent-card/vectors.json`: card records valid and
 * refused (one fault each, signed again over the faulty content where the
 * fault is not the signature), and the skills a card offers. Fixed keys and
 * a fixed clock.
 */
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { signingInput } from '../../src/crypto/signature.js'
import { fromUtf8, toBase64url } from '../../src/crypto/bytes.js'
import { CARD_SIGNATURE_DOMAIN, DEFAULT_CARD_TTL_MS, MAX_CARD_TTL_MS, createCardRecord, validateCardRecord } from '../../src/handles/card.js'
import { testSigner } from './handle-record.js'

const NOW = 1_800_000_000_000

export async function agentCardVectors (): Promise<unknown> {
  const alice = testSigner('alice')
  const bob = testSigner('bob')
  const card = { name: 'counter', version: '1.0.0', supportedInterfaces: [{ url: 'parley:@alice', protocolBinding: 'https://parley.dev/protocols/a2a/v1', protocolVersion: '1.0' }], skills: [{ id: 'count', name: 'count', tags: ['numbers'] }] }
  const { bytes } = await createCardRecord(alice, { handle: 'alice', seq: 1, card, now: NOW })
  const valid = JSON.parse(fromUtf8(bytes)) as Record<string, unknown>
  const resign = async (fields: Record<string, unknown>, signer = alice): Promise<string> => {
    const unsigned = { ...fields }
    delete unsigned.sig
    return canonicalize({ ...unsigned, sig: toBase64url(await signer.sign(signingInput(CARD_SIGNATURE_DOMAIN, unsigned))) })
  }
  const records: Array<{ name: string, text: string, key?: string, verdict: string }> = [
    { name: 'valid', text: fromUtf8(bytes), key: '/a2a-card/alice', verdict: 'valid' },
    { name: 'under another handle\'s key', text: fromUtf8(bytes), key: '/a2a-card/bob', verdict: 'ERR_KEY_MISMATCH' },
    { name: 'signed by another key than peer', text: await resign(valid, bob), verdict: 'ERR_BAD_SIGNATURE' },
    { name: 'card altered after signing', text: canonicalize({ ...valid, card: { ...card, name: 'counterfeit' } }), verdict: 'ERR_BAD_SIGNATURE' },
    { name: 'expired', text: await resign({ ...valid, expires: NOW }), verdict: 'ERR_EXPIRED' },
    { name: 'expires too far ahead', text: await resign({ ...valid, expires: NOW + MAX_CARD_TTL_MS + 1 }), verdict: 'ERR_EXPIRED' },
    { name: 'version 2', text: await resign({ ...valid, v: 2 }), verdict: 'ERR_UNSUPPORTED_VERSION' },
    { name: 'an unknown member', text: await resign({ ...valid, extra: 1 }), verdict: 'ERR_MALFORMED' },
    { name: 'card not an object', text: await resign({ ...valid, card: [card] }), verdict: 'ERR_MALFORMED' },
    { name: 'not canonical (spaces)', text: JSON.stringify(valid, null, 1), verdict: 'ERR_NON_CANONICAL' },
    { name: 'oversize', text: await resign({ ...valid, card: { ...card, description: 'x'.repeat(17_000) } }), verdict: 'ERR_OVERSIZE' }
  ]
  // each verdict checked against this implementation before writing
  for (const r of records) {
    let verdict = 'valid'
    try { await validateCardRecord(new TextEncoder().encode(r.text), { now: NOW, ...(r.key === undefined ? {} : { key: new TextEncoder().encode(r.key) }) }) } catch (err) { verdict = (err as { code: string }).code }
    if (verdict !== r.verdict) throw new Error(`vector ${r.name}: ${verdict}, expected ${r.verdict}`)
  }
  return {
    description: 'Agent Card records (protocols/agent-card/README.md): records checked at `now` (§4), and the skills a card offers (§5). Keys: test/vectors/keys.ts (alice, bob).',
    now: NOW,
    ttl: DEFAULT_CARD_TTL_MS,
    records,
    skills: [
      { name: 'ids and tags', card, skills: ['count', 'numbers'] },
      { name: 'no skills', card: { name: 'x' }, skills: [] },
      { name: 'malformed skills ignored', card: { skills: [1, { id: 7 }, { tags: ['a', 2] }] }, skills: ['a'] }
    ]
  }
}
