/**
 * Nothing lost when a peer is offline (protocols/mailbox): an agent sends a
 * thousand messages to an agent that is away; they are sealed and left at
 * the two relays its record lists; one relay is killed with SIGKILL midway
 * and restarted on its data directory; the recipient comes back and gets
 * every message once, in order, and the sender a delivered receipt for each.
 * Real relay processes (their LevelDB on disk), real agents, loopback.
 */
import { expect } from 'chai'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { deposit, mailStatus, pull } from '../../src/mailbox/client.js'
import { MailboxError } from '../../src/mailbox/errors.js'
import type { MailObject } from '../../src/mailbox/wire.js'
import { sleep, until, useTwoRelays } from './two-relays.js'

const N = Number(process.env.PARLEY_MAIL_N ?? 1000)

/** Every file under `dir`, read whole. */
async function filesUnder (dir: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name)))
  }
  return out
}

describe('mail for an agent that is offline', function () {
  this.timeout(300_000)
  const world = useTwoRelays('parley-mail-')
  const { relays, startRelay, agent, close } = world

  it(`${N} sealed messages through two relays, one killed midway: each delivered once, in order, each receipted; the relays never held plaintext`, async () => {
    let bob = await agent('mail-bob')
    const alice = await agent('mail-alice')
    // bob knows alice: her messages go to his inbox rather than waiting for his human
    await bob.setTrust('@mail-alice', 1)
    await close(bob)

    const secret = (i: number): string => `plaintext-${String(i).padStart(4, '0')}-for-bob-only`
    const statuses: string[] = []
    const t0 = Date.now()
    for (let i = 0; i < N; i++) {
      if (i === Math.floor(N * 0.3)) await relays[1]?.stop('SIGKILL')
      if (i === Math.floor(N * 0.6)) await startRelay(1)
      const sent = await alice.send('@mail-bob', secret(i)) as { status: string, relays: string[] }
      statuses.push(sent.status)
    }
    const sendMs = Date.now() - t0
    expect(statuses.every(s => s === 'queued'), 'every offline send reports queued').to.equal(true)
    expect(alice.outbox().filter(e => e.method === 'message')).to.have.length(N)

    // the restarted relay gets what it missed (the sender retries in order), and neither relay stored plaintext
    await until('both relays to hold every message', () => alice.outbox().filter(e => e.method === 'message').every(e => Object.values(e.relays).every(s => s === 'stored')), 120_000)
    for (const i of [0, 1]) {
      const files = await filesUnder(join(world.dir, `relay-${i}`, 'datastore'))
      for (const f of files) expect(f.includes('plaintext-'), `relay ${i}'s datastore holds plaintext`).to.equal(false)
    }

    // bob comes back: everything once, in order
    bob = await agent('mail-bob')
    await until('bob\'s inbox to fill', async () => (await bob.inbox()).length >= N, 120_000)
    await sleep(1000)
    const inbox = await bob.inbox()
    expect(inbox.map(m => m.text)).to.deep.equal(Array.from({ length: N }, (_, i) => secret(i)))
    await until('a delivered receipt for each', () => alice.outbox().filter(e => e.method === 'message').every(e => e.status === 'delivered'), 120_000)
    console.log(`      ${N} offline sends in ${sendMs} ms; relay 1 killed at ${Math.floor(N * 0.3)} and restarted at ${Math.floor(N * 0.6)}`)

    // the relays are empty again: bob acknowledged it all
    for (const r of relays) {
      const connection = await bob.libp2p.dial(r.tcp)
      expect((await mailStatus(connection)).count).to.equal(0)
    }

    // a replay after bob restarts: alice deposits one of her envelopes again; bob drops it as seen
    const first = alice.outbox().find(e => e.method === 'message')
    if (first === undefined) throw new Error('no outbox entry')
    await close(bob)
    const atRelay = await alice.libp2p.dial(relays[0]?.tcp ?? multiaddr())
    expect((await deposit(atRelay, first.envelope, first.record)).status).to.equal('stored')
    bob = await agent('mail-bob')
    await until('the replay to be picked up', async () => (await mailStatus(await bob.libp2p.dial(relays[0]?.tcp ?? multiaddr()))).count === 0, 30_000)
    expect((await bob.inbox()).length, 'the replay is not delivered again').to.equal(N)

    // a pickup by someone else sees none of bob's mail; a forwarded envelope is refused
    const carol = await agent('mail-carol')
    expect((await deposit(atRelay, first.envelope, first.record)).status).to.equal('stored')
    const byCarol = await carol.libp2p.dial(relays[0]?.tcp ?? multiaddr())
    expect((await pull(byCarol)).messages).to.have.length(0)
    const carolRecord = JSON.parse(canonicalize(JSON.parse(new TextDecoder().decode(carol.record?.bytes)))) as MailObject
    try {
      await deposit(byCarol, first.envelope, carolRecord)
      expect.fail('carol forwarded alice\'s envelope')
    } catch (err) {
      expect(err).to.be.instanceOf(MailboxError)
      expect(err).to.have.property('code', 'ERR_MAILBOX_INVALID')
    }
  })
})
