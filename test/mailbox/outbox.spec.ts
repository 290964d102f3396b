/**
 * The outbox keeps the order of sending: deposits at a relay go oldest
 * first, and a burst of sends in one millisecond keeps its order when the
 * outbox is loaded again after a restart (it was sorted by `created`, ties
 * falling to the order of the random ids).
 */
import { expect } from 'chai'
import { Outbox } from '../../src/mailbox/outbox.js'
import type { OutboxEntry } from '../../src/mailbox/outbox.js'
import { randomToken } from '../../src/crypto/random.js'
import { LevelDir } from '../store/helpers.js'

const AT = 1_700_000_000_000
const RELAY = '12D3KooWRelayRelayRelayRelayRelayRelayRelayRelayRela'

function entry (n: number): OutboxEntry {
  return {
    id: randomToken(),
    created: AT,
    to: { peer: '12D3KooWRecipientRecipientRecipientRecipientRecip' },
    method: 'message',
    params: { text: `note ${n}` },
    text: `note ${n}`,
    envelope: { n },
    record: {},
    relays: { [RELAY]: 'pending' },
    status: 'pending'
  }
}

describe('the outbox (src/mailbox/outbox)', () => {
  it('keeps the order of sends made in one millisecond, after a reopen too (LevelDB, which lists keys by id)', async () => {
    const dir = new LevelDir()
    const ds = await dir.open()
    try {
      const outbox = await Outbox.open(ds)
      const sent: string[] = []
      for (let n = 0; n < 30; n++) {
        const e = entry(n)
        await outbox.add(e)
        sent.push(e.id)
      }
      expect(outbox.list().map(e => e.id)).to.deep.equal(sent)
      expect(outbox.list()[0]?.created, 'the first keeps its time').to.equal(AT)
      const reopened = await Outbox.open(ds)
      expect(reopened.list().map(e => e.id), 'loaded again in the order of sending').to.deep.equal(sent)
      expect(reopened.nextAt(RELAY)?.id, 'the oldest is deposited first').to.equal(sent[0])
      const later = entry(30)
      await reopened.add(later)
      expect(reopened.list().at(-1)?.id, 'a send after the reopen comes last').to.equal(later.id)
    } finally {
      await ds.close()
      dir.remove()
    }
  })
})
