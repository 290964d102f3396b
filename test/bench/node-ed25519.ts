/** Bare Node (OpenSSL) Ed25519, with nothing of Parley's in the way: the floor the envelope paths are measured against. */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'

const PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI = Buffer.from('302a300506032b6570032100', 'hex')

export function createSign (seed: Uint8Array): (msg: Uint8Array) => Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8, seed]), format: 'der', type: 'pkcs8' })
  return (msg) => sign(null, msg, key)
}

export function createVerify (publicKey: Uint8Array): (msg: Uint8Array, sig: Uint8Array) => boolean {
  const key = createPublicKey({ key: Buffer.concat([SPKI, publicKey]), format: 'der', type: 'spki' })
  return (msg, sig) => verify(null, msg, key, sig)
}
