/**
 * Two Parley sessions over a direct libp2p connection on loopback (TCP,
 * Noise, yamux): no relay, no DHT, no agent. Each side's `SessionHost` is
 * given by the test, so what a session does with its host (its replay guard,
 * say) can be tried in isolation and timed without network noise.
 */
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createIdentity } from '../../src/identity/index.js'
import type { Identity } from '../../src/identity/index.js'
import { Session, SESSION_PROTOCOL } from '../../src/agent/index.js'
import type { SessionHost } from '../../src/session/session.js'

/** A host for {@link sessionPair}: everything but the signer, which is the node's identity. */
export type PairHost = Omit<SessionHost, 'signer'>

export interface SessionPair {
  caller: Session
  callee: Session
  callerIdentity: Identity
  calleeIdentity: Identity
  /** Opens one more session on the same connection, with the same hosts. */
  another: () => Promise<{ caller: Session, callee: Session }>
  stop: () => Promise<void>
}

async function node (identity: Identity, listen: boolean): Promise<Libp2p> {
  const libp2p = await createLibp2p({
    privateKey: identity.privateKey,
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false }
  })
  await libp2p.start()
  return libp2p
}

/** Opens a session from a node hosted by `callerHost` to one hosted by `calleeHost`, both ready. */
export async function sessionPair (callerHost: PairHost, calleeHost: PairHost): Promise<SessionPair> {
  const callerIdentity = await createIdentity({ kind: 'agent' })
  const calleeIdentity = await createIdentity({ kind: 'agent' })
  const a = await node(callerIdentity, false)
  const b = await node(calleeIdentity, true)
  const inbound: Array<(s: Session) => void> = []
  await b.handle(SESSION_PROTOCOL, (stream, connection) => {
    const session = new Session({ ...calleeHost, signer: calleeIdentity }, stream, connection.remotePeer.toString(), 'inbound')
    inbound.shift()?.(session)
  })
  const addr = b.getMultiaddrs()[0]
  if (addr === undefined) throw new Error('the callee node has no address')
  const connection = await a.dial(addr)
  const another = async (): Promise<{ caller: Session, callee: Session }> => {
    const incoming = new Promise<Session>(resolve => { inbound.push(resolve) })
    const stream = await connection.newStream(SESSION_PROTOCOL)
    const caller = new Session({ ...callerHost, signer: callerIdentity }, stream, calleeIdentity.peerIdString, 'outbound')
    await caller.ready
    const callee = await incoming
    await callee.ready
    return { caller, callee }
  }
  const first = await another()
  return {
    ...first,
    callerIdentity,
    calleeIdentity,
    another,
    stop: async () => { await Promise.allSettled([a.stop(), b.stop()]) }
  }
}
