/**
 * The client side of the mailbox (protocols/mailbox): one request per stream
 * on a connection to a relay. A refusal throws its {@link MailboxError}; a
 * stream that cannot be opened or breaks before the answer is
 * `ERR_MAILBOX_UNREACHABLE` (worth trying again).
 */
import type { Connection, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import { MAILBOX_PROTOCOL, MAX_ANSWER_BYTES } from './constants.js'
import { MailboxError, MailboxErrorCode } from './errors.js'
import { encodeFrame, parseAcked, parseLive, parsePulled, parseStatus, parseStored } from './wire.js'
import type { Acked, MailObject, MailStatus, Pulled, Stored } from './wire.js'

const log = logger('parley:mailbox:client')

/** What the client needs of a connection: to open a stream on it. */
export type MailboxConnection = Pick<Connection, 'newStream' | 'remotePeer'>

async function ask<T> (connection: MailboxConnection, request: object, parse: (bytes: Uint8Array) => T, signal?: AbortSignal): Promise<T> {
  let stream: Stream
  try {
    stream = await connection.newStream(MAILBOX_PROTOCOL, signal === undefined ? {} : { signal })
  } catch (err) {
    throw new MailboxError(MailboxErrorCode.UNREACHABLE, `cannot open a mailbox stream to ${connection.remotePeer.toString()}: ${(err as Error).message}`, {}, { cause: err })
  }
  let answer: Uint8Array
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
    await lp.write(encodeFrame(request), signal === undefined ? {} : { signal })
    answer = (await lp.read(signal === undefined ? {} : { signal })).subarray()
  } catch (err) {
    stream.abort(err as Error)
    throw new MailboxError(MailboxErrorCode.UNREACHABLE, `the mailbox stream to ${connection.remotePeer.toString()} broke: ${(err as Error).message}`, {}, { cause: err })
  }
  stream.close().catch(err => { stream.abort(err as Error) })
  return parse(answer)
}

/** Deposits a sealed, signed envelope for the peer `record` names (§3.1). */
export async function deposit (connection: MailboxConnection, envelope: MailObject, record: MailObject, signal?: AbortSignal): Promise<Stored> {
  return ask(connection, { op: 'deposit', envelope, record }, parseStored, signal)
}

/** How much mail waits for us at the relay (§3.2). */
export async function mailStatus (connection: MailboxConnection, signal?: AbortSignal): Promise<MailStatus> {
  return ask(connection, { op: 'status' }, parseStatus, signal)
}

/** Our oldest unacknowledged mail, at most `limit` (§3.3). */
export async function pull (connection: MailboxConnection, options: { limit?: number, after?: string } = {}, signal?: AbortSignal): Promise<Pulled> {
  return ask(connection, { op: 'pull', ...options }, parsePulled, signal)
}

/** Deletes our mail with envelope ids `ids` (§3.4). */
export async function ack (connection: MailboxConnection, ids: string[], signal?: AbortSignal): Promise<Acked> {
  return ask(connection, { op: 'ack', ids }, parseAcked, signal)
}

/** A `live` stream (§3.5): `close()` ends it; `closed` settles when it ends either way. */
export interface LiveMail {
  /** Ends the stream. */
  close: () => void
  /** Settles when the stream has ended (closed by us, by the relay, or broken). */
  readonly closed: Promise<void>
}

/**
 * Opens a `live` stream: `onCount` is called with the count of mail waiting,
 * at once and after each new deposit. Throws `ERR_MAILBOX_UNREACHABLE` when
 * the stream cannot be opened.
 */
export async function live (connection: MailboxConnection, onCount: (count: number) => void): Promise<LiveMail> {
  let stream: Stream
  try {
    stream = await connection.newStream(MAILBOX_PROTOCOL)
  } catch (err) {
    throw new MailboxError(MailboxErrorCode.UNREACHABLE, `cannot open a live mailbox stream to ${connection.remotePeer.toString()}: ${(err as Error).message}`, {}, { cause: err })
  }
  const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
  await lp.write(encodeFrame({ op: 'live' }))
  const closed = (async () => {
    try {
      while (true) onCount(parseLive((await lp.read()).subarray()))
    } catch (err) {
      log('live mail stream from %s ended: %s', connection.remotePeer, (err as Error).message)
      stream.abort(err as Error)
    }
  })()
  return {
    close: () => { stream.close().catch(err => { stream.abort(err as Error) }) },
    closed
  }
}
