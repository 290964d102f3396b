import { expect } from 'chai'
import { messageView } from '../../src/dashboard/index.js'
import { utf8 } from '../../src/crypto/bytes.js'

describe('dashboard message view (src/dashboard/agent-source messageView)', () => {
  it('shows a frame skipped unread for its size by its length, with no claimed envelope', () => {
    const view = messageView({ dir: 'in', at: 1, verified: 'ERR_OVERSIZE', bytes: new Uint8Array(0), size: 300_000 }, 7)
    expect(view).to.deep.include({ dir: 'in', verified: 'ERR_OVERSIZE', envelopeId: 'frame-7' })
    expect(view.envelope).to.deep.equal({ bytes: 300_000, note: 'over the size limit: skipped unread' })
  })

  it('shows what a refused frame claims, next to its code, and only a note for a large one', () => {
    const claimed = { id: 'aGVsbG8tMDAwMDAwMDAwMDA', body: { jsonrpc: '2.0', id: 3, method: 'quote' } }
    const refused = messageView({ dir: 'in', at: 1, verified: 'ERR_BAD_SIGNATURE', bytes: utf8(JSON.stringify(claimed)) }, 1)
    expect(refused).to.deep.include({ type: 'request', method: 'quote', rpcId: 3, envelopeId: claimed.id, verified: 'ERR_BAD_SIGNATURE' })
    const large = messageView({ dir: 'in', at: 1, verified: 'ERR_MALFORMED_JSON', bytes: new Uint8Array(40).fill(0x41) }, 2, 16)
    expect(large.envelope).to.deep.include({ bytes: 40, note: 'larger than 16 bytes: not kept' })
  })
})
