/**
 * A libp2p private key whose secret stays inside WebCrypto: a non-extractable
 * Ed25519 `CryptoKey` that signs but cannot be read by JavaScript.
 *
 * libp2p 3 only signs with its private key, and always awaits the signature
 * (`@libp2p/interface` types `sign` as `Uint8Array | Promise<Uint8Array>`):
 * the Noise handshake (`@chainsafe/libp2p-noise` `createHandshakePayload`),
 * identify's signed peer record (`@libp2p/peer-record` `RecordEnvelope.seal`),
 * gossipsub's message signing (`buildRawMessage`) and the circuit relay
 * server's reservation vouchers. The peer id is derived from `publicKey`
 * alone. Nothing on that path reads `raw` of the private key; only exporting
 * it does (`privateKeyToProtobuf`, `@libp2p/keychain`), and that must fail
 * for a key that cannot be exported: reading `raw` here throws
 * `ERR_KEY_NOT_EXTRACTABLE` rather than handing out bytes that are not the key.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { AbortOptions, Ed25519PrivateKey, Ed25519PublicKey } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Ed25519Signer } from '../crypto/ed25519.js'
import { IdentityError, IdentityErrorCode } from '../errors.js'

/** An Ed25519 libp2p private key that signs through a non-extractable WebCrypto key. */
export class NonExtractableEd25519PrivateKey implements Ed25519PrivateKey {
  /** Always `'Ed25519'`. */
  readonly type = 'Ed25519'
  /** The public half, an ordinary libp2p public key. */
  readonly publicKey: Ed25519PublicKey
  readonly #signer: Ed25519Signer

  /** `signer` signs with the WebCrypto key (see `webCryptoSigner`); its `publicKey` is the pair's. */
  constructor (signer: Ed25519Signer) {
    this.#signer = signer
    this.publicKey = publicKeyFromRaw(signer.publicKey) as Ed25519PublicKey
  }

  /**
   * Not available: the secret never leaves WebCrypto.
   *
   * @throws {IdentityError} `ERR_KEY_NOT_EXTRACTABLE`, always.
   */
  get raw (): Uint8Array {
    throw new IdentityError(IdentityErrorCode.KEY_NOT_EXTRACTABLE,
      `the private key of ${this.publicKey.toString()} is a non-extractable WebCrypto key: it can sign, but it cannot be exported or saved to a key file`)
  }

  /** True for this key, or another non-extractable key of the same pair. */
  equals (key?: unknown): boolean {
    return key === this || (key instanceof NonExtractableEd25519PrivateKey && this.publicKey.equals(key.publicKey))
  }

  /** Signs `data` (deterministic Ed25519, RFC 8032); always asynchronous. */
  async sign (data: Uint8Array | Uint8ArrayList, options?: AbortOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    const sig = await this.#signer.sign(data instanceof Uint8Array ? data : data.subarray())
    options?.signal?.throwIfAborted()
    return sig
  }

  /** The public parts only. */
  toJSON (): {
    /** Always `'Ed25519'`. */
    type: 'Ed25519'
    /** The public key's base58btc multihash text (as a peer id is written). */
    publicKey: string
  } {
    return { type: 'Ed25519', publicKey: this.publicKey.toString() }
  }
}
