/**
 * One kad-dht GET_VALUE, asked of one DHT server over a connection the
 * agent already has: the libp2p Kademlia wire messages (a length-prefixed
 * protobuf `Message`), without kad-dht's query machinery. A query waits for
 * the routing table to hold a peer (after identify and a ping) and for the
 * first self-query; asking the relays an agent is connected to needs none
 * of that (protocols/handle-record §15, "Asking connected servers").
 */
import type { Connection } from '@libp2p/interface'
import { Libp2pRecord } from '@libp2p/record'
import { lpStream } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { equals } from 'uint8arrays/equals'

/** kad-dht `MessageType.GET_VALUE`. */
const GET_VALUE = 1
/** `Message` fields: type (varint), key (bytes), record (bytes). */
const TYPE_FIELD = 1
const KEY_FIELD = 2
const RECORD_FIELD = 3
/** Longest answer read: a handle record and the closer peers a server names fit well within it. */
const MAX_ANSWER_BYTES = 64 * 1024

/** A protobuf `Message { type: GET_VALUE, key }`. */
export function encodeGetValue (key: Uint8Array): Uint8Array {
  const keyTag = varint.encode((KEY_FIELD << 3) | 2)
  const keyLength = varint.encode(key.byteLength)
  return new Uint8ArrayList(Uint8Array.of((TYPE_FIELD << 3) | 0, GET_VALUE), keyTag, keyLength, key).subarray()
}

/**
 * The record value of a GET_VALUE answer for `key`: undefined when the
 * server holds none. Throws on a message that is not protobuf, or whose
 * record is for another key.
 */
export function decodeGetValueAnswer (message: Uint8Array, key: Uint8Array): Uint8Array | undefined {
  let offset = 0
  let record: Uint8Array | undefined
  while (offset < message.byteLength) {
    const tag = varint.decode(message, offset)
    offset += varint.encodingLength(tag)
    const wireType = tag & 7
    if (wireType === 0) {
      offset += varint.encodingLength(varint.decode(message, offset))
    } else if (wireType === 2) {
      const length = varint.decode(message, offset)
      offset += varint.encodingLength(length)
      if (offset + length > message.byteLength) throw new RangeError('a field runs past the end of the message')
      if (tag >>> 3 === RECORD_FIELD) record = message.subarray(offset, offset + length)
      offset += length
    } else if (wireType === 1 || wireType === 5) {
      offset += wireType === 1 ? 8 : 4
    } else {
      throw new RangeError(`unknown protobuf wire type ${wireType}`)
    }
  }
  if (offset !== message.byteLength) throw new RangeError('the message ends inside a field')
  if (record === undefined) return undefined
  const parsed = Libp2pRecord.deserialize(record)
  if (!equals(parsed.key, key)) throw new RangeError('the server answered with a record for another key')
  return parsed.value
}

/** Asks the server at the far end of `connection` for the value it stores under `key`. */
export async function getValueFrom (connection: Connection, protocol: string, key: Uint8Array, signal: AbortSignal): Promise<Uint8Array | undefined> {
  const stream = await connection.newStream(protocol, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
    await lp.write(encodeGetValue(key), { signal })
    const answer = await lp.read({ signal })
    return decodeGetValueAnswer(answer.subarray(), key)
  } finally {
    stream.close().catch(err => { stream.abort(err as Error) })
  }
}
