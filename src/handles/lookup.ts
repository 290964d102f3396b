/**
 * One handle lookup through a DHT, as protocols/handle-record §15 says a
 * resolver must make it: answers count only from the servers `trusted`
 * names, each is validated, and {@link chooseRecord} picks among them. Agents
 * (their relays are trusted) and relays (the relays they bootstrap from) both
 * resolve this way.
 */
import type { KadDHT } from '@libp2p/kad-dht'
import { logger } from '@libp2p/logger'
import { HandleRecordError, HandleRecordErrorCode } from '../errors.js'
import { handleKey, validateHandleRecord } from './record.js'
import type { HandleRecord } from './record.js'
import { chooseRecord } from './resolution.js'
import type { ServerAnswer } from './resolution.js'

const log = logger('parley:handles:lookup')

/** Options of {@link lookupHandle}. */
export interface LookupHandleOptions {
  /** Least proof-of-work difficulty accepted on a record. */
  minPowBits: number
  /** Whether the DHT server with this peer id is trusted (default: every server). */
  trusted?: (peer: string) => boolean
  /** Longest the lookup may take (default 10 s). */
  timeoutMs?: number
}

/** What one DHT server answered to a GET of a handle's key: the record's bytes, not yet validated. */
export interface RawAnswer {
  /** The server's peer id. */
  server: string
  /** The record's bytes as the server sent them. */
  value: Uint8Array
}

/**
 * Asks `dht` for `handle`'s record: undefined when no trusted server holds a
 * valid one; throws `ERR_HANDLE_CONFLICT` when they hold different owners'
 * records equally often.
 */
export async function lookupHandle (dht: Pick<KadDHT, 'get'>, handle: string, options: LookupHandleOptions): Promise<HandleRecord | undefined> {
  return chooseFromAnswers(handle, await dhtAnswers(dht, handleKey(handle), options.timeoutMs), options)
}

/**
 * What every server a DHT query for `key` reached answered (unvalidated,
 * from trusted servers or not): the raw material of §15 for handle records
 * and for Agent Cards alike.
 */
export async function dhtAnswers (dht: Pick<KadDHT, 'get'>, key: Uint8Array, timeoutMs = 10_000): Promise<RawAnswer[]> {
  const answers: RawAnswer[] = []
  try {
    for await (const event of dht.get(key, { signal: AbortSignal.timeout(timeoutMs) })) {
      if (event.name !== 'PEER_RESPONSE' || event.messageName !== 'GET_VALUE' || event.record == null) continue
      answers.push({ server: event.from.toString(), value: event.record.value })
    }
  } catch (err) {
    // kad-dht ends a get by correcting servers with the value it prefers: that may fail, and is not ours to judge
    log('a DHT get ended with: %e', err)
  }
  return answers
}

/**
 * Rules 1–5 of §15 over what servers answered: only trusted servers count,
 * each once; each answer is validated; {@link chooseRecord} picks. Undefined
 * when no trusted server answered a valid record.
 */
export async function chooseFromAnswers (handle: string, raw: readonly RawAnswer[], options: LookupHandleOptions): Promise<HandleRecord | undefined> {
  const key = handleKey(handle)
  const trusted = options.trusted ?? (() => true)
  const answers: Array<ServerAnswer<HandleRecord>> = []
  let ignored = 0
  for (const { server, value } of raw) {
    if (!trusted(server)) { ignored++; continue }
    try {
      answers.push({ server, record: await validateHandleRecord(value, { key, minPowBits: options.minPowBits }) })
    } catch (err) {
      log('@%s: %s answered an invalid record: %e', handle, server, err)
    }
  }
  if (ignored > 0) log('@%s: ignored %d answers from DHT servers not trusted', handle, ignored)
  const choice = chooseRecord(answers, Date.now())
  if (choice.code === HandleRecordErrorCode.HANDLE_CONFLICT) {
    throw new HandleRecordError(HandleRecordErrorCode.HANDLE_CONFLICT, `@${handle}: the DHT servers trusted here (${choice.servers.join(', ')}) hold records of different owners, equally often`)
  }
  return choice.record
}
