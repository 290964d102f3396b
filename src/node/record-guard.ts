/**
 * What a DHT server does with handle records beyond validating each one:
 * counts rejections by reason, and enforces first come, first served.
 *
 * kad-dht validates a PUT and then overwrites whatever it held for the key,
 * so FCFS must sit where the record is stored: {@link guardHandleRecords}
 * wraps the datastore's `put` and, for handle records, asks
 * {@link succession} whether the incoming record may replace the stored one.
 * A refused put fails the remote PUT, which is what the squatter sees.
 */
import { logger } from '@libp2p/logger'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import type { Datastore, Key } from 'interface-datastore'
import { HandleRecordError } from '../errors.js'
import { handleKey, handleSelector, handleValidator, succession, validateHandleRecord, parseHandleRecord, HANDLE_KEY_PREFIX } from '../handles/record.js'
import { fromUtf8 } from '../crypto/bytes.js'
import type { HandleValidatorOptions } from '../handles/record.js'
import { lenientUtf8 } from '../util/lenient-utf8.js'
import { DHT_RECORD_PREFIX } from './constants.js'
import type { Tally } from '../util/tally.js'
import { CARD_DHT_NAMESPACE, CARD_KEY_PREFIX, CardRecordError, CardRecordErrorCode, cardSelector, cardValidator, validateCardRecord } from '../handles/card.js'
import { Key as DatastoreKey } from 'interface-datastore'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'

const log = logger('parley:node:records')

/** Counts a refused record under its error code (`ERR_BAD_SIGNATURE`, `ERR_HANDLE_TAKEN`, …). */
function reject (tally: Tally, err: unknown): void {
  tally.add(err instanceof HandleRecordError ? err.code : 'ERR_OTHER')
}

/** kad-dht validators and selectors for Parley's namespaces, counting rejections. */
export function parleyDhtConfig (options: HandleValidatorOptions, rejections: Tally): { validators: Record<string, ValidateFn>, selectors: Record<string, SelectFn> } {
  const validate = handleValidator(options)
  return {
    validators: {
      handle: async (key, value) => {
        try {
          await validate(key, value)
        } catch (err) {
          reject(rejections, err)
          // the key is a remote peer's bytes: shown leniently, so that logging cannot replace the refusal
          log('refused record for %s: %e', lenientUtf8(key), err)
          throw err
        }
      },
      [CARD_DHT_NAMESPACE]: async (key, value) => {
        try {
          await cardValidator(key, value)
        } catch (err) {
          rejections.add(err instanceof CardRecordError ? `card:${err.code}` : 'ERR_OTHER')
          log('refused card for %s: %e', lenientUtf8(key), err)
          throw err
        }
      }
    },
    selectors: { handle: handleSelector, [CARD_DHT_NAMESPACE]: cardSelector }
  }
}

/**
 * Makes `store` refuse to replace a live handle record with one from another
 * key (unless it carries a rotation signed by the holder), and ignore puts of
 * an older sequence from the same key. Returns the same store.
 */
export function guardHandleRecords<D extends Datastore> (store: D, options: HandleValidatorOptions, rejections: Tally): D {
  const put = store.put.bind(store)
  const clock = options.clock ?? Date.now
  store.put = async (key: Key, value: Uint8Array, opts?: Parameters<D['put']>[2]): Promise<Key> => {
    const name = key.toString()
    if (!name.startsWith(DHT_RECORD_PREFIX + '/')) return put(key, value, opts)
    const incoming = DhtRecord.deserialize(value)
    // any key, UTF-8 or not, is compared as text: the prefix is ASCII, which lenient decoding keeps
    const textKey = lenientUtf8(incoming.key)
    if (textKey.startsWith(CARD_KEY_PREFIX)) {
      if (!await guardCard(store, incoming.value, incoming.key, clock(), rejections)) return key
      return put(key, value, opts)
    }
    if (!textKey.startsWith(HANDLE_KEY_PREFIX)) return put(key, value, opts)
    const now = clock()
    const record = await validateHandleRecord(incoming.value, { ...options, key: incoming.key, now })
    let existing
    try {
      existing = parseHandleRecord(DhtRecord.deserialize(await store.get(key)).value)
    } catch {
      existing = undefined // nothing stored, or something unreadable: the valid newcomer wins
    }
    try {
      if (succession(existing, record, now) === 'ignore') {
        log('ignored put of @%s seq %d: holding seq %d', record.handle, record.seq, existing?.seq)
        return key
      }
    } catch (err) {
      reject(rejections, err)
      log('refused put of @%s by %s: %e', record.handle, record.peer, err)
      throw err
    }
    return put(key, value, opts)
  }
  return store
}

/**
 * A card may be stored only by the handle's owner (protocols/agent-card §4):
 * the handle record this server holds for it must be live and name the
 * card's peer. False for a card of a lower `seq` than the one held from the
 * same peer: ignored, as an older handle record is.
 */
async function guardCard (store: Datastore, value: Uint8Array, key: Uint8Array, now: number, rejections: Tally): Promise<boolean> {
  const card = await validateCardRecord(value, { key, now })
  const refuse = (code: CardRecordErrorCode, message: string): never => {
    rejections.add(`card:${code}`)
    log('refused the card of @%s by %s: %s', card.handle, card.peer, message)
    throw new CardRecordError(code, message)
  }
  let owner
  try {
    owner = parseHandleRecord(DhtRecord.deserialize(await store.get(recordKey(handleKey(card.handle)))).value)
  } catch {
    return refuse(CardRecordErrorCode.NOT_OWNER, `no handle record of @${card.handle} here: publish the handle first`)
  }
  if (owner.expires <= now || owner.peer !== card.peer) refuse(CardRecordErrorCode.NOT_OWNER, `@${card.handle} is held by another peer`)
  try {
    const held = JSON.parse(fromUtf8(DhtRecord.deserialize(await store.get(recordKey(key))).value)) as { peer?: unknown, seq?: unknown }
    if (held.peer === card.peer && typeof held.seq === 'number' && held.seq > card.seq) {
      log('ignored the card of @%s seq %d: holding seq %d', card.handle, card.seq, held.seq)
      return false
    }
  } catch {
    // nothing held, or unreadable: the valid newcomer is stored
  }
  return true
}

/** kad-dht's datastore key of a record key (as its `bufferToRecordKey`, which it does not export). */
function recordKey (key: Uint8Array): DatastoreKey {
  return new DatastoreKey(`${DHT_RECORD_PREFIX}/${uint8ArrayToString(key, 'base32')}`, false)
}

