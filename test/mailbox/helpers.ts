/**
 * Raw mailbox clients for the relay's tests: plain libp2p peers on loopback
 * TCP that write one request frame and read the answer, with no client
 * library in between (what the relay answers is what is tested).
 */
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { MAILBOX_PROTOCOL, MAX_ANSWER_BYTES } from '../../src/mailbox/constants.js'
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js'
import { createHandleRecord } from '../../src/handles/record.js'
import type { Identity } from '../../src/identity/index.js'
import { signSealedEnvelope } from '../../src/envelope/sealed.js'
import type { SignedEnvelope } from '../../src/envelope/envelope.js'

/** Difficulty the test relays accept, so records mint at once. */
export const TEST_POW_BITS = 8

/** A bare libp2p peer that dials over TCP only. */
export async function mailPeer (privateKey: PrivateKey): Promise<Libp2p> {
  return createLibp2p({
    privateKey,
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false }
  })
}

/** Answer frames, as parsed JSON. */
export type Answer = Record<string, unknown> & { status?: string }

/** Writes `frame` (an object, or raw bytes) as one request and reads the one answer. */
export async function ask (node: Libp2p, relay: Multiaddr, frame: object | Uint8Array): Promise<Answer> {
  const stream = await node.dialProtocol(relay, MAILBOX_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
    await lp.write(frame instanceof Uint8Array ? frame : utf8(JSON.stringify(frame)))
    const answer = await lp.read({ signal: AbortSignal.timeout(10_000) })
    return JSON.parse(fromUtf8(answer.subarray())) as Answer
  } finally {
    await stream.close().catch(err => { stream.abort(err as Error) })
  }
}

/** An open `live` stream and its frames as they arrive. */
export interface LiveReader {
  stream: Stream
  /** The next frame (rejects if the stream ends first, or after `ms`). */
  next: (ms?: number) => Promise<Answer>
  /** Whether the relay ended the stream (the next read found its end). */
  ended: (ms?: number) => Promise<boolean>
}

/** Opens a `live` stream. */
export async function openLive (node: Libp2p, relay: Multiaddr): Promise<LiveReader> {
  const stream = await node.dialProtocol(relay, MAILBOX_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
  await lp.write(utf8(JSON.stringify({ op: 'live' })))
  return {
    stream,
    next: async (ms = 5000) => JSON.parse(fromUtf8((await lp.read({ signal: AbortSignal.timeout(ms) })).subarray())) as Answer,
    ended: async (ms = 5000) => {
      try {
        await lp.read({ signal: AbortSignal.timeout(ms) })
        return false
      } catch (err) {
        return (err as Error).name !== 'AbortError' && (err as Error).name !== 'TimeoutError'
      }
    }
  }
}

/** `recipient`'s handle record listing `relays`, as the JSON a deposit carries. */
export async function recordJson (recipient: Identity, handle: string, relays: string[], seq = 1): Promise<Record<string, unknown>> {
  const { bytes } = await createHandleRecord(recipient, { handle, seq, relays, powBits: TEST_POW_BITS })
  return JSON.parse(fromUtf8(bytes)) as Record<string, unknown>
}

/** A sealed envelope from `sender` to `recipient`. */
export async function sealedMail (sender: Identity, recipient: Identity, text: string, id?: string): Promise<SignedEnvelope> {
  return signSealedEnvelope(sender, {
    to: { peer: recipient.peerIdString },
    body: { jsonrpc: '2.0', method: 'message', params: { text } },
    recipientKey: recipient.x25519PublicKey,
    ...(id === undefined ? {} : { id })
  })
}
