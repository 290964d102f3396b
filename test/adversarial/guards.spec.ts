/**
 * The pieces that keep remote input from throwing out of listeners, one by
 * one: lenient UTF-8, the listener guard, the dashboard's timeline view and
 * the event log record of a refused frame. (frames.spec.ts attacks a whole
 * agent process; this checks each piece on its own.)
 */
import { expect } from 'chai'
import type { Logger } from '@libp2p/interface'
import { lenientUtf8, lenientUtf8Prefix } from '../../src/util/lenient-utf8.js'
import { guarded } from '../../src/util/guard.js'
import { messageView } from '../../src/dashboard/agent-source.js'
import { recordEnvelope, RECORDED_FRAME_BYTES } from '../../src/agent/bridge.js'
import type { Desk } from '../../src/agent/desk.js'
import type { EnvelopeRecord, Session } from '../../src/session/session.js'

const encode = (text: string): Uint8Array => new TextEncoder().encode(text)

function fakeLogger (): Logger & { errors: unknown[][] } {
  const errors: unknown[][] = []
  const log = Object.assign((): void => {}, {
    errors,
    enabled: true,
    error: (...args: unknown[]): void => { errors.push(args) },
    trace: (): void => {},
    newScope: (): Logger => log
  })
  return log as unknown as Logger & { errors: unknown[][] }
}

describe('guards against remote input', () => {
  describe('lenient UTF-8', () => {
    it('replaces invalid sequences with U+FFFD and never throws', () => {
      expect(lenientUtf8(Uint8Array.of(0xff, 0xfe, 0xc3))).to.equal('\uFFFD\uFFFD\uFFFD')
      expect(lenientUtf8(Uint8Array.of(0x41, 0xed, 0xa0, 0x80, 0x42))).to.equal('A\uFFFD\uFFFD\uFFFDB') // an encoded surrogate
      expect(lenientUtf8(encode('\uFEFFbom kept'))).to.equal('\uFEFFbom kept')
      expect(lenientUtf8(encode('héllo €𝄞'))).to.equal('héllo €𝄞')
    })

    it('cuts a prefix at a character boundary, whatever the character\'s length', () => {
      for (const ch of ['é', '€', '𝄞']) {
        const bytes = encode('ab' + ch + 'z')
        const size = encode(ch).byteLength
        for (let cut = 0; cut <= bytes.byteLength; cut++) {
          const expected = cut < 2 ? 'ab'.slice(0, cut) : cut < 2 + size ? 'ab' : cut === 2 + size ? 'ab' + ch : 'ab' + ch + 'z'
          expect(lenientUtf8Prefix(bytes, cut), `${ch} cut at ${cut}`).to.equal(expected)
        }
      }
      expect(lenientUtf8Prefix(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80), 3)).to.equal('\uFFFD\uFFFD\uFFFD')
      expect(lenientUtf8Prefix(encode('abc'), 10)).to.equal('abc')
    })
  })

  describe('guarded', () => {
    it('logs a synchronous throw instead of letting it out', () => {
      const log = fakeLogger()
      const listener = guarded(log, 'a listener', (n: number) => { throw new Error(`boom ${n}`) })
      expect(() => { listener(1) }).not.to.throw()
      expect(log.errors).to.have.length(1)
      expect(log.errors[0]?.[1]).to.equal('a listener')
      expect((log.errors[0]?.[2] as Error).message).to.equal('boom 1')
    })

    it('logs a rejection of the promise the callback returns (no unhandled rejection)', async () => {
      const log = fakeLogger()
      const unhandled: unknown[] = []
      const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
      process.on('unhandledRejection', onUnhandled)
      try {
        guarded(log, 'an async listener', async () => { throw new Error('later') })()
        await new Promise(resolve => setTimeout(resolve, 20))
      } finally {
        process.off('unhandledRejection', onUnhandled)
      }
      expect(unhandled).to.deep.equal([])
      expect((log.errors[0]?.[2] as Error).message).to.equal('later')
    })

    it('keeps guarding when the logger itself throws, and passes arguments through', () => {
      const log = Object.assign(() => {}, { error: () => { throw new Error('logger broke') }, trace: () => {}, enabled: true }) as unknown as Logger
      const seen: unknown[] = []
      const listener = guarded(log, 'x', (a: string, b: number) => { seen.push(a, b); throw new Error('boom') })
      expect(() => { listener('a', 2) }).not.to.throw()
      expect(seen).to.deep.equal(['a', 2])
    })

    it('a guarded EventTarget listener that throws ends nothing', async () => {
      const log = fakeLogger()
      const target = new EventTarget()
      target.addEventListener('x', guarded(log, 'x listener', () => { JSON.parse('{') }))
      target.dispatchEvent(new Event('x'))
      await new Promise(resolve => setTimeout(resolve, 10))
      expect(log.errors).to.have.length(1)
    })
  })

  describe('the dashboard timeline of a refused frame', () => {
    const refused = (bytes: Uint8Array): EnvelopeRecord => ({ dir: 'in', at: 1, verified: 'ERR_MALFORMED_JSON', bytes })

    it('shows invalid UTF-8 leniently', () => {
      const view = messageView(refused(Uint8Array.of(0xff, 0xfe, 0xc3)), 1)
      expect(view.envelope).to.deep.equal({ frame: '\uFFFD\uFFFD\uFFFD' })
      expect(view).to.include({ verified: 'ERR_MALFORMED_JSON', envelopeId: 'frame-1' })
    })

    it('cuts a long frame at 2048 bytes without splitting a character', () => {
      const view = messageView(refused(encode('x'.repeat(2047) + '€' + 'y'.repeat(100))), 2)
      expect(view.envelope).to.deep.equal({ frame: 'x'.repeat(2047) })
    })

    it('does not take a claimed envelope nested too deep to serialize for one', () => {
      const depth = 7000
      const view = messageView(refused(encode('{"v":1,"body":' + '['.repeat(depth) + ']'.repeat(depth) + '}')), 3)
      expect(() => JSON.stringify(view)).not.to.throw()
      expect((view.envelope as { frame: string }).frame.startsWith('{"v":1,"body":[[[')).to.equal(true)
      // a shallow claim is still shown as what it claims to be
      const shallow = messageView(refused(encode('{"id":"abcdefgh","body":{"jsonrpc":"2.0","id":7,"method":"quote"}}')), 4)
      expect(shallow).to.include({ envelopeId: 'abcdefgh', method: 'quote', rpcId: 7, type: 'request' })
    })
  })

  describe('the event log record of a refused frame', () => {
    function capture (): { desk: Desk, records: Array<[string, Record<string, unknown>]> } {
      const records: Array<[string, Record<string, unknown>]> = []
      const desk = { record: (type: string, data: Record<string, unknown>) => { records.push([type, data]) }, recordCanonical: () => {} } as unknown as Desk
      return { desk, records }
    }
    const session = { remotePeer: '12D3KooWtest', id: 'session-1' } as unknown as Session

    it('is the frame as lenient text, with its code', () => {
      const { desk, records } = capture()
      recordEnvelope(desk, session, { dir: 'in', at: 1, verified: 'ERR_MALFORMED_JSON', bytes: Uint8Array.of(0xff, 0x41) })
      expect(records).to.deep.equal([['frame.in', { bytes: '\uFFFDA', peer: '12D3KooWtest', session: 'session-1', verified: 'ERR_MALFORMED_JSON' }]])
    })

    it('keeps the first RECORDED_FRAME_BYTES of a larger frame, with its size', () => {
      const { desk, records } = capture()
      const bytes = new Uint8Array(RECORDED_FRAME_BYTES + 10).fill(0x01)
      recordEnvelope(desk, session, { dir: 'in', at: 1, verified: 'ERR_MALFORMED_JSON', bytes })
      expect(records[0]?.[1]).to.include({ size: RECORDED_FRAME_BYTES + 10 })
      expect(records[0]?.[1].bytes).to.have.length(RECORDED_FRAME_BYTES)
    })

    it('keeps the size of an oversize frame skipped unread', () => {
      const { desk, records } = capture()
      recordEnvelope(desk, session, { dir: 'in', at: 1, verified: 'ERR_OVERSIZE', bytes: new Uint8Array(0), size: 300_000 })
      expect(records[0]?.[1]).to.include({ bytes: '', size: 300_000 })
    })

    it('never throws, even when the desk does', () => {
      const desk = { record: () => { throw new Error('desk closed') } } as unknown as Desk
      expect(() => { recordEnvelope(desk, session, { dir: 'in', at: 1, verified: 'ERR_MALFORMED_JSON', bytes: Uint8Array.of(0xff) }) }).not.to.throw()
    })
  })
})
