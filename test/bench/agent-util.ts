/**
 * Helpers for the agent benchmarks: a raw length-prefixed request/response
 * protocol (the js-libp2p baseline: no envelope, no signing), millisecond
 * statistics computed like the harness's, and bounded waits.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { readFrames, writeFrame } from '../../src/session/frames.js'
import type { Frame } from '../../src/session/frames.js'

const MAX_FRAME = 64 * 1024

/**
 * Raw request/response: every length-prefixed message is answered with the
 * same bytes. It frames with Parley's own session framing (src/session/frames.ts:
 * varint length, then the bytes), so the difference from a session is the
 * envelope, its signature and the JSON-RPC handling, not the framing.
 */
export const RR = '/bench/rr/1.0.0'

/**
 * The same echo with bare Ed25519 on both ends: each message travels followed
 * by its 64-byte signature, the server verifies it and signs the answer, the
 * client verifies that. Two signatures and two verifications per round trip
 * and nothing else: the least any signed protocol pays on the connection.
 */
export const RR_SIGNED = '/bench/rr-signed/1.0.0'

/** One end's keys for {@link RR_SIGNED}: its own signing key, the other end's verifying key. */
export interface RrKeys {
  sign: (message: Uint8Array) => Uint8Array
  verify: (message: Uint8Array, signature: Uint8Array) => boolean
}

const SIG = 64

function signed (message: Uint8Array, keys: RrKeys): Uint8Array {
  const out = new Uint8Array(message.byteLength + SIG)
  out.set(message)
  out.set(keys.sign(message), message.byteLength)
  return out
}

/** The message of a signed frame, or an error when its signature does not verify. */
function opened (frame: Uint8Array, keys: RrKeys): Uint8Array {
  if (frame.byteLength < SIG) throw new Error('rr: a frame too short to be signed')
  const message = frame.subarray(0, frame.byteLength - SIG)
  if (!keys.verify(message, frame.subarray(message.byteLength))) throw new Error('rr: a signature did not verify')
  return message
}

/** Registers {@link RR} on `node` (and {@link RR_SIGNED} when given keys), allowed on limited (relayed) connections. */
export async function handleRr (node: Libp2p, keys?: RrKeys): Promise<void> {
  const serve = (answer: (bytes: Uint8Array) => Uint8Array) => async (stream: Stream): Promise<void> => {
    try {
      for await (const frame of readFrames(stream, MAX_FRAME, MAX_FRAME)) {
        if ('bytes' in frame) await writeFrame(stream, answer(frame.bytes))
      }
    } catch {
      // the stream ended under us (the node stopped), or a signature failed
    }
  }
  await node.handle(RR, serve(bytes => bytes), { runOnLimitedConnection: true })
  if (keys !== undefined) await node.handle(RR_SIGNED, serve(bytes => signed(opened(bytes, keys), keys)), { runOnLimitedConnection: true })
}

/** The client end of an {@link RR} stream (or of {@link RR_SIGNED}, given keys): `roundTrip()` writes one message and reads its answer. */
export class RrClient {
  readonly #frames: AsyncIterator<Frame>

  constructor (readonly stream: Stream, readonly keys?: RrKeys) {
    this.#frames = readFrames(stream, MAX_FRAME, MAX_FRAME)
  }

  async roundTrip (message: Uint8Array, timeoutMs = 5000): Promise<void> {
    await writeFrame(this.stream, this.keys === undefined ? message : signed(message, this.keys))
    const next = await within(this.#frames.next(), timeoutMs, 'rr round trip')
    if (next.done === true) throw new Error('rr: the stream ended')
    if (!('bytes' in next.value)) throw new Error('rr: an oversize answer')
    const answer = this.keys === undefined ? next.value.bytes : opened(next.value.bytes, this.keys)
    if (answer.byteLength !== message.byteLength) throw new Error(`rr: sent ${message.byteLength} bytes, got another answer back`)
  }
}

/** Milliseconds since `t0` (from `process.hrtime.bigint()`). */
export function msSince (t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6
}

/** `promise`, or a rejection after `ms` (the timer is cleared either way). */
export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: no result within ${ms} ms`)) }, ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The next `type` event's detail, or a rejection after `timeoutMs`. */
export async function nextEvent<T> (target: EventTarget, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (e: Event): void => { clearTimeout(timer); resolve((e as CustomEvent<T>).detail) }
    const timer = setTimeout(() => { target.removeEventListener(type, onEvent); reject(new Error(`no ${type} event within ${timeoutMs} ms`)) }, timeoutMs)
    target.addEventListener(type, onEvent, { once: true })
  })
}

/** CPU time of process `pid` in ms (Linux /proc; undefined elsewhere), assuming 100 clock ticks a second. */
export async function cpuMsOf (pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined
  try {
    const { readFile } = await import('node:fs/promises')
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? []
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? ticks * 10 : undefined
  } catch {
    return undefined
  }
}

/** CPU used per second of wall time over `ms` while this process waits: by this process, and by process `otherPid`. */
export async function idleCpu (ms: number, otherPid: number | undefined): Promise<{ self: number, other: number | undefined }> {
  const self0 = process.cpuUsage()
  const other0 = await cpuMsOf(otherPid)
  const t0 = process.hrtime.bigint()
  await new Promise(resolve => setTimeout(resolve, ms))
  const wall = msSince(t0) / 1000
  const self = process.cpuUsage(self0)
  const other1 = await cpuMsOf(otherPid)
  return { self: (self.user + self.system) / 1000 / wall, other: other0 === undefined || other1 === undefined ? undefined : (other1 - other0) / wall }
}
