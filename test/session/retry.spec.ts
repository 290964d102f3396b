/**
 * A retried request (protocols/session §5.2): the same envelope `id` with a
 * fresh nonce and signature passes the replay guard, and the session answers
 * it with the first response — its handler never runs twice, also when the
 * retry arrives while the first is still running. A retry naming another
 * method is refused; the answers kept for retries are bounded.
 */
import { expect } from 'chai'
import { sessionPair } from '../helpers/session-pair.js'
import type { PairHost, SessionPair } from '../helpers/session-pair.js'
import { ReplayGuard } from '../../src/envelope/replay-guard.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import { ANSWER_CACHE_ENTRIES, INVALID_REQUEST } from '../../src/session/constants.js'
import type { JsonRpcMessage } from '../../src/envelope/jsonrpc.js'
import type { Handler } from '../../src/session/session.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('a retried request (same envelope id) is answered with the first response', function () {
  this.timeout(30_000)
  let pair: SessionPair
  const runs = new Map<string, number>()

  const host = (handlers: Array<[string, Handler]>): PairHost => ({
    handle: undefined,
    record: () => undefined,
    handlers: new Map(handlers),
    replayGuard: new ReplayGuard(),
    verifyHello: async (peer) => ({ peer, kind: 'anon' }),
    keepAliveMs: 0
  })

  before(async () => {
    const work: Handler = async (params) => {
      const job = String(params.job)
      runs.set(job, (runs.get(job) ?? 0) + 1)
      await sleep(Number(params.ms ?? 0))
      return { job, run: runs.get(job) ?? 0, at: Date.now() }
    }
    pair = await sessionPair(host([]), host([['work', work], ['other', () => 'other']]))
  })

  after(async () => { await pair.stop() })

  /** Sends `body` as the caller under envelope `id` (a fresh nonce each time) and resolves with the response to JSON-RPC id `body.id`. */
  async function send (id: string, body: JsonRpcMessage & { id: number }): Promise<JsonRpcMessage> {
    const answer = new Promise<JsonRpcMessage>(resolve => {
      const listener = (e: CustomEvent<{ dir: string, body?: JsonRpcMessage }>): void => {
        const b = e.detail.body
        if (e.detail.dir === 'in' && b !== undefined && 'id' in b && b.id === body.id && !('method' in b)) {
          pair.caller.removeEventListener('envelope', listener as never)
          resolve(b)
        }
      }
      pair.caller.addEventListener('envelope', listener as never)
    })
    const { bytes } = await signEnvelope(pair.callerIdentity, { id, to: { peer: pair.calleeIdentity.peerIdString }, body })
    await pair.caller.sendRaw(bytes)
    return answer
  }

  it('a retry after the answer gets the same result; the handler ran once', async () => {
    const first = await send('retry-after-0001', { jsonrpc: '2.0', id: 1001, method: 'work', params: { job: 'a' } })
    const again = await send('retry-after-0001', { jsonrpc: '2.0', id: 1001, method: 'work', params: { job: 'a' } })
    expect(again).to.deep.equal(first)
    expect(runs.get('a')).to.equal(1)
  })

  it('a retry while the first is still running waits for it, and gets its answer', async () => {
    const first = send('retry-during-001', { jsonrpc: '2.0', id: 1002, method: 'work', params: { job: 'b', ms: 300 } })
    await sleep(50)
    const again = send('retry-during-001', { jsonrpc: '2.0', id: 1003, method: 'work', params: { job: 'b', ms: 300 } })
    const [a, b] = await Promise.all([first, again])
    expect((a as { result: unknown }).result).to.deep.equal((b as { result: unknown }).result)
    expect(b).to.include({ id: 1003 })
    expect(runs.get('b')).to.equal(1)
  })

  it('a retry naming another method is refused (ERR_DUPLICATE_ID), and the session goes on', async () => {
    await send('retry-other-0001', { jsonrpc: '2.0', id: 1004, method: 'work', params: { job: 'c' } })
    const refused = await send('retry-other-0001', { jsonrpc: '2.0', id: 1005, method: 'other' })
    expect(refused).to.deep.include({ error: { code: INVALID_REQUEST, message: 'envelope id already used for another request', data: { code: 'ERR_DUPLICATE_ID' } } })
    expect(await pair.caller.request('other')).to.equal('other')
  })

  it(`keeps at most ${ANSWER_CACHE_ENTRIES} answers: the oldest is forgotten, the newest kept`, async () => {
    for (let i = 0; i <= ANSWER_CACHE_ENTRIES; i++) {
      await send(`bound-${String(i).padStart(8, '0')}`, { jsonrpc: '2.0', id: 2000 + i, method: 'work', params: { job: `bound-${i}` } })
    }
    await send(`bound-${String(ANSWER_CACHE_ENTRIES).padStart(8, '0')}`, { jsonrpc: '2.0', id: 2000 + ANSWER_CACHE_ENTRIES, method: 'work', params: { job: `bound-${ANSWER_CACHE_ENTRIES}` } })
    expect(runs.get(`bound-${ANSWER_CACHE_ENTRIES}`), 'the newest answer was kept').to.equal(1)
    await send('bound-00000000', { jsonrpc: '2.0', id: 2000, method: 'work', params: { job: 'bound-0' } })
    expect(runs.get('bound-0'), 'the oldest answer was forgotten (the bound holds)').to.equal(2)
  })
})
