/**
 * Generates `protocols/session/vectors.json`: (1) framing — byte streams and
 * the frames (or the failure) a receiver must read from them, whatever the
 * chunking; (2) the session's own messages (hello, resume, ping and its
 * answer, a rejection) as signed envelopes, with what each must contain.
 */
import * as varint from 'uint8-varint'
import { concat, toHex, utf8 } from '../../src/crypto/bytes.js'
import { testKey } from './keys.js'
import { signRaw, NOW } from './envelope.js'

type Obj = Record<string, unknown>

function frame (payload: Uint8Array): Uint8Array {
  return concat(varint.encode(payload.byteLength), payload)
}

export async function sessionVectors (): Promise<Obj> {
  const alice = testKey('alice')
  const bob = testKey('bob')
  const session = 'c2Vzc2lvbi1pZC0xMjM0NQ'
  const env = async (body: Obj, id: string, to: Obj = { peer: bob.peerIdString }, nonce = 'EBESExQVFhcYGRobHB0eHw'): Promise<string> => signRaw(alice, {
    v: 1, id, ts: NOW - 500, from: { handle: 'alice', peer: alice.peerIdString }, to, nonce, body
  })
  const hello = await env({ jsonrpc: '2.0', method: 'session/hello', params: { session } }, 'aGVsbG8tMDAwMDAwMDAwMDA')
  const badHello = async (params: Obj, id: string): Promise<string> => env({ jsonrpc: '2.0', method: 'session/hello', params }, id)
  const badSessions = [
    { name: 'hello-no-session', description: 'A hello naming no session id: the callee closes the session.', params: {}, id: 'aGVsbG8tbm8tc2Vzc2lvbg' },
    { name: 'hello-session-not-base64url', description: 'A hello whose session id has characters outside [A-Za-z0-9_-]: the callee closes the session.', params: { session: 'session id 1' }, id: 'aGVsbG8tbm90LWI2NHVybA' },
    { name: 'hello-session-too-long', description: 'A hello whose session id is 65 characters (the limit is 64): the callee closes the session.', params: { session: 'a'.repeat(65) }, id: 'aGVsbG8tdG9vLWxvbmc' },
    { name: 'hello-session-not-string', description: 'A hello whose session id is a number: the callee closes the session.', params: { session: 1234567890 }, id: 'aGVsbG8tbnVtYmVy' }
  ]
  const ping = await env({ jsonrpc: '2.0', id: 7, method: 'session/ping' }, 'cGluZy0wMDAwMDAwMDAwMDAw')
  const pong = await env({ jsonrpc: '2.0', id: 7, result: 'pong' }, 'cG9uZy0wMDAwMDAwMDAwMDAw')
  const resume = await env({ jsonrpc: '2.0', method: 'session/resume', params: { session } }, 'cmVzdW1lLTAwMDAwMDAwMDAw')
  // a request and its retry after a lost connection (§5.1, §5.2): one envelope id, two nonces
  const work = { jsonrpc: '2.0', id: 4, method: 'schedule/book', params: { slot: '2026-11-21T09:00' } }
  const retried = [
    await env(work, 'cmV0cnktMDAwMDAwMDAwMDA', undefined, 'ICEiIyQlJicoKSorLC0uLw'),
    await env(work, 'cmV0cnktMDAwMDAwMDAwMDA', undefined, 'MDEyMzQ1Njc4OTo7PD0-Pw')
  ]
  const duplicate = await env({ jsonrpc: '2.0', id: 5, error: { code: -32600, message: 'envelope id already used for another request', data: { code: 'ERR_DUPLICATE_ID' } } }, 'ZHVwbGljYXRlLTAwMDAwMDA')
  const rejection = await env({ jsonrpc: '2.0', id: 3, error: { code: -32001, message: 'envelope rejected: signature does not verify', data: { code: 'ERR_BAD_SIGNATURE' } } }, 'cmVqZWN0LTAwMDAwMDAwMDAw')

  const big = 'x'.repeat(300)
  const maxBytes = 256
  const framing = [
    { name: 'two-frames', description: 'Two frames back to back: both are read, in order.', hex: toHex(concat(frame(utf8(hello)), frame(utf8(ping)))), maxBytes: 262144, expect: [{ text: hello }, { text: ping }] },
    { name: 'empty-frame', description: 'A zero-length frame is a frame (its envelope then fails to decode: ERR_MALFORMED_JSON).', hex: toHex(frame(new Uint8Array(0))), maxBytes: 262144, expect: [{ text: '' }] },
    { name: 'oversize-skipped', description: `A ${big.length}-byte frame over a ${maxBytes}-byte limit is reported as oversize and skipped; the next frame is read.`, hex: toHex(concat(frame(utf8(big)), frame(utf8('{}')))), maxBytes, expect: [{ oversize: big.length }, { text: '{}' }] },
    { name: 'beyond-hard-limit', description: 'A length prefix above 16 × the limit resets the stream.', hex: toHex(varint.encode(maxBytes * 16 + 1)), maxBytes, expect: [{ error: 'FrameError' }] },
    { name: 'malformed-varint', description: 'Ten bytes with the continuation bit set are no varint: the stream is reset.', hex: 'ff'.repeat(10), maxBytes: 262144, expect: [{ error: 'FrameError' }] },
    { name: 'non-minimal-varint', description: 'A length prefix that is not minimally encoded (81 00 for 1) is malformed: the stream is reset, rather than the frame boundaries shifting.', hex: '8100aa', maxBytes: 262144, expect: [{ error: 'FrameError' }] },
    { name: 'truncated', description: 'A frame cut short by the end of the stream yields nothing.', hex: toHex(frame(utf8(ping)).subarray(0, 20)), maxBytes: 262144, expect: [] }
  ]
  const messages = [
    { name: 'hello', description: 'The caller\'s hello: a notification naming the session (no record: an anonymous caller).', text: hello, method: 'session/hello', params: { session }, session },
    ...await Promise.all(badSessions.map(async b => ({ name: b.name, description: b.description, text: await badHello(b.params, b.id), method: 'session/hello', params: b.params, session: null }))),
    { name: 'resume', description: 'The first frame on a new stream of a session being upgraded.', text: resume, method: 'session/resume', params: { session } },
    { name: 'ping', description: 'A keep-alive request, answered by the session itself.', text: ping, method: 'session/ping', id: 7 },
    { name: 'pong', description: 'The answer to a keep-alive.', text: pong, id: 7, result: 'pong' },
    { name: 'rejection', description: 'The answer to a refused request: code -32001 and the envelope error code in data.code.', text: rejection, id: 3, error: { code: -32001, data: { code: 'ERR_BAD_SIGNATURE' } } },
    { name: 'duplicate-id', description: 'The answer to a retry whose envelope id names another method (§5.2): code -32600, data.code ERR_DUPLICATE_ID.', text: duplicate, id: 5, error: { code: -32600, data: { code: 'ERR_DUPLICATE_ID' } } }
  ]
  const retries = [
    { name: 'retry-after-resume', description: 'A request and its retry after a resume (§5.1): the same envelope id and body, another nonce and signature. Verified in this order by one receiver with one replay record, both are accepted (neither is ERR_REPLAYED); the session runs the request once and answers the retry with the first response (§5.2).', texts: retried }
  ]
  return {
    description: 'Session protocol vectors (protocols/session). Framing: feed `hex` to a frame reader with envelope limit `maxBytes` in chunks of any size; it must yield `expect` in order (`text`: a frame with those UTF-8 bytes; `oversize`: a skipped frame of that length; `error`: the stream is reset). Messages: each `text` is an envelope from alice to bob that verifies at `now` with expectedSigner alice; its body must carry the given method, params, id, result or error. Retries: `texts` verified in order against one replay record all pass, with one envelope id between them. `session` (hellos only): the session id the hello names, or null when it names none of the required shape and the callee must close the session.',
    now: NOW,
    signer: alice.peerIdString,
    recipient: bob.peerIdString,
    framing,
    messages,
    retries
  }
}
