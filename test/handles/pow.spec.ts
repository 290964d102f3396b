import { expect } from 'chai'
import {
  checkPow, estimatePowMs, leadingZeroBits, measurePowRate, mintPow, mintPowAsync, powBase, powDigest, powInput,
  DEFAULT_POW_BITS, MAX_POW_NONCE
} from '../../src/handles/pow.js'
import { toHex, utf8 } from '../../src/crypto/bytes.js'

const baseOf = (label: string): Uint8Array => powBase(utf8(label))

/** Asserts that `nonce` is the first nonce ≥ `start` that satisfies `bits`, using the checker's hash only. */
function expectFirst (base: Uint8Array, bits: number, nonce: number, start = 0): void {
  expect(checkPow(base, bits, nonce), `nonce ${nonce} satisfies ${bits} bits`).to.equal(true)
  for (let n = start; n < nonce; n++) expect(checkPow(base, bits, n), `nonce ${n} < ${nonce}`).to.equal(false)
}

describe('handle record proof of work', () => {
  it('counts leading zero bits from the most significant bit of the first byte', () => {
    expect(leadingZeroBits(Uint8Array.of(0x80))).to.equal(0)
    expect(leadingZeroBits(Uint8Array.of(0x01))).to.equal(7)
    expect(leadingZeroBits(Uint8Array.of(0x00, 0x40))).to.equal(9)
    expect(leadingZeroBits(Uint8Array.of(0x00, 0x00, 0x01))).to.equal(23)
    expect(leadingZeroBits(new Uint8Array(4))).to.equal(32)
  })

  it('lays out the hashed input as base ‖ bits ‖ nonce (8 bytes big-endian)', () => {
    const base = new Uint8Array(32).fill(0xaa)
    expect(toHex(powInput(base, 19, MAX_POW_NONCE))).to.equal('aa'.repeat(32) + '13' + '001fffffffffffff')
    expect(toHex(powInput(base, 0, 0x0102030405))).to.equal('aa'.repeat(32) + '00' + '0000000102030405')
    expect(() => powInput(new Uint8Array(31), 8, 0)).to.throw(RangeError)
    expect(() => powInput(base, 65, 0)).to.throw(RangeError)
    expect(() => powInput(base, 8, MAX_POW_NONCE + 1)).to.throw(RangeError)
  })

  it('hashes the domain-separated content into the base', () => {
    // SHA-256("parley/handle-pow/v1\nabc"), computed with Python's hashlib
    expect(toHex(powBase(utf8('abc')))).to.equal('b178f1cc7d7f2c4b38e77eaa859272ef95147538e1da3c818610549a598c689f')
  })

  it('checkPow is false, never a throw, for out-of-range input', () => {
    const base = baseOf('range')
    for (const bits of [-1, 65, 1.5, NaN]) expect(checkPow(base, bits, 0)).to.equal(false)
    for (const nonce of [-1, 0.5, MAX_POW_NONCE + 1, Infinity]) expect(checkPow(base, 0, nonce)).to.equal(false)
    expect(checkPow(new Uint8Array(31), 0, 0)).to.equal(false)
    expect(checkPow(base, 0, 0)).to.equal(true)
    expect(checkPow(base, 64, 0)).to.equal(false)
  })

  for (let bits = 0; bits <= 12; bits++) {
    it(`mintPow finds the first satisfying nonce at ${bits} bits`, () => {
      for (const label of ['one', 'two']) {
        const base = baseOf(`pow ${label} ${bits}`)
        const nonce = mintPow(base, bits)
        expectFirst(base, bits, nonce)
        expect(leadingZeroBits(powDigest(base, bits, nonce))).to.be.at.least(bits)
        if (bits === 0) expect(nonce).to.equal(0)
      }
    })
  }

  it('mintPow handles nonces past 2^32 and 2^40 (the high word of the nonce)', () => {
    for (const start of [2 ** 32 - 300, 2 ** 40 - 300, MAX_POW_NONCE - 5000]) {
      const base = baseOf(`high ${start}`)
      const nonce = mintPow(base, 8, { start })
      expect(nonce).to.be.at.least(start)
      expectFirst(base, 8, nonce, start)
    }
  })

  it('the difficulty byte is part of the hashed input', () => {
    const base = baseOf('bits byte')
    const at4 = mintPow(base, 4)
    expect(toHex(powDigest(base, 4, at4))).to.not.equal(toHex(powDigest(base, 5, at4)))
  })

  it('mintPowAsync returns what mintPow returns', async () => {
    for (let bits = 0; bits <= 12; bits += 3) {
      const base = baseOf(`async ${bits}`)
      expect(await mintPowAsync(base, bits)).to.equal(mintPow(base, bits))
    }
  })

  it('mintPowAsync yields to the event loop while minting (14 bits)', async () => {
    // a base whose first 14-bit nonce is past 40000 (deterministic): tens of ms of work
    let base = baseOf('yield 0')
    for (let i = 1; mintPow(base, 14) < 40000; i++) base = baseOf(`yield ${i}`)
    let ticks = 0
    let running = true
    const tick = (): void => { ticks++; if (running) setImmediate(tick) }
    setImmediate(tick)
    const nonce = await mintPowAsync(base, 14, { sliceMs: 2 })
    running = false
    expect(nonce).to.equal(mintPow(base, 14))
    expect(ticks).to.be.greaterThan(0)
  })

  it('mintPowAsync rejects at once on an aborted signal', async () => {
    const controller = new AbortController()
    controller.abort()
    const err = await mintPowAsync(baseOf('abort'), 8, { signal: controller.signal }).then(() => undefined, (e: unknown) => e)
    expect((err as Error).name).to.equal('AbortError')
  })

  it('mintPowAsync stops when the signal aborts mid-way', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 20)
    const started = Date.now()
    const err = await mintPowAsync(baseOf('abort later'), 60, { signal: controller.signal }).then(() => undefined, (e: unknown) => e)
    expect((err as Error).name).to.equal('AbortError')
    expect(Date.now() - started).to.be.lessThan(5000)
  })

  it('measures a rate and estimates the mean minting time from it', () => {
    const rate = measurePowRate(20)
    expect(rate).to.be.greaterThan(0)
    expect(estimatePowMs(DEFAULT_POW_BITS, 2 ** 20)).to.equal(2 ** (DEFAULT_POW_BITS - 20) * 1000)
    expect(Number.isInteger(DEFAULT_POW_BITS) && DEFAULT_POW_BITS > 8 && DEFAULT_POW_BITS <= 64).to.equal(true)
  })
})
