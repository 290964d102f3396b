import { expect } from 'chai'
import { x25519 as noble } from '@noble/curves/ed25519.js'
import { x25519PublicKey, x25519PublicKeyNoble, x25519Secret, x25519SharedSecret } from '../../src/crypto/x25519.js'
import { browserNoiseCrypto } from '../../src/crypto/noise.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

describe('X25519 public keys', () => {
  it('the Montgomery ladder gives the RFC 7748 §6.1 public keys', () => {
    // Alice's and Bob's private and public keys
    expect(Buffer.from(x25519PublicKeyNoble(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'))).toString('hex')).to.equal('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    expect(Buffer.from(x25519PublicKeyNoble(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'))).toString('hex')).to.equal('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
  })

  it('agrees with noble\'s getPublicKey, Node\'s OpenSSL and Diffie-Hellman for random secrets', () => {
    for (let i = 0; i < 32; i++) {
      const a = x25519Secret()
      const b = x25519Secret()
      const pa = x25519PublicKeyNoble(a)
      expect(pa).to.deep.equal(noble.getPublicKey(a))
      expect(pa).to.deep.equal(x25519PublicKey(a))
      expect(x25519SharedSecret(b, pa)).to.deep.equal(x25519SharedSecret(a, x25519PublicKeyNoble(b)))
    }
  })

  it('the browser\'s Noise key pairs are X25519 key pairs', () => {
    const { privateKey, publicKey } = browserNoiseCrypto.generateX25519KeyPair()
    expect(publicKey).to.deep.equal(noble.getPublicKey(privateKey))
    const seed = x25519Secret()
    expect(browserNoiseCrypto.generateX25519KeyPairFromSeed(seed)).to.deep.equal({ privateKey: seed, publicKey: noble.getPublicKey(seed) })
  })
})
