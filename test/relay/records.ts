/** Handle records for relay tests: valid ones and each kind of bad one, minted at low difficulty. */
import { createHandleRecord } from '../../src/handles/record.js'
import { checkPow } from '../../src/handles/pow.js'
import { handleRecordPowBase } from '../../src/handles/record.js'
import type { Identity } from '../../src/identity/index.js'
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js'
import { canonicalize as canonical } from '../../src/crypto/canonical-json.js'

export const TEST_BITS = 8

export async function validRecord (id: Identity, handle: string, seq = 1): Promise<Uint8Array> {
  return (await createHandleRecord(id, { handle, seq, powBits: TEST_BITS })).bytes
}

export async function badSignatureRecord (id: Identity, handle: string): Promise<Uint8Array> {
  const json = JSON.parse(fromUtf8(await validRecord(id, handle))) as Record<string, unknown>
  const sig = json.sig as string
  // change a middle character of the signature: still canonical base64url, no longer valid
  json.sig = sig.slice(0, 40) + (sig[40] === 'A' ? 'B' : 'A') + sig.slice(41)
  return utf8(canonical(json))
}

export async function badPowRecord (id: Identity, handle: string): Promise<Uint8Array> {
  const json = JSON.parse(fromUtf8(await validRecord(id, handle))) as Record<string, unknown> & { pow: { bits: number, nonce: number } }
  const content: Record<string, unknown> = { ...json }
  delete content.sig
  delete content.pow
  const base = handleRecordPowBase(content)
  let nonce = json.pow.nonce + 1
  while (checkPow(base, json.pow.bits, nonce)) nonce++
  json.pow = { bits: json.pow.bits, nonce }
  return utf8(canonical(json))
}

export async function expiredRecord (id: Identity, handle: string): Promise<Uint8Array> {
  return (await createHandleRecord(id, { handle, seq: 1, powBits: TEST_BITS, now: Date.now() - 2 * 3600_000, ttlMs: 3600_000 })).bytes
}
