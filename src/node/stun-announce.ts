/**
 * How a relay tells its clients where it serves STUN
 * ([protocols/stun](../../protocols/stun/README.md)): on a stream of
 * `/parley/stun/1.0.0` the relay sends one length-prefixed frame,
 * `{"port":3478}`, and closes. The client takes the host from the relay
 * address it dialed, so a relay needs no configuration beyond its listen
 * (or announce) addresses, and agents none at all.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { multiaddr } from '@multiformats/multiaddr'
import { canonicalize } from '../crypto/canonical-json.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { readFrames, writeFrame } from '../session/frames.js'

/** The protocol id a relay that serves STUN answers on. */
export const STUN_PROTOCOL = '/parley/stun/1.0.0'

/** The largest announcement a client reads (bytes of JSON). */
export const MAX_STUN_ANNOUNCEMENT_BYTES = 1024

/** The announcement's bytes (without the length prefix): canonical JSON `{"port":N}`. */
export function encodeStunAnnouncement (port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`STUN port ${port} is out of range`)
  return utf8(canonicalize({ port }))
}

/** The port an announcement names; `undefined` for anything that is not one (members it does not know are ignored). */
export function decodeStunAnnouncement (bytes: Uint8Array): number | undefined {
  let value: unknown
  try { value = JSON.parse(fromUtf8(bytes)) } catch { return undefined }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const port = (value as { port?: unknown }).port
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined
}

/** Serves the announcement for `port` on `node` (a relay). */
export async function serveStunAnnouncement (node: Libp2p, port: number): Promise<void> {
  const bytes = encodeStunAnnouncement(port)
  await node.handle(STUN_PROTOCOL, async (stream: Stream) => {
    try {
      await writeFrame(stream, bytes)
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  })
}

/**
 * The STUN URL of the relay at `relay` (the address this node dialed): asks
 * it for its port, and joins that to the relay's host. `undefined` when the
 * relay serves no STUN (an older relay, or one started with `--stun-port 0`),
 * or its address has no IP or DNS host.
 */
export async function askStunServer (node: { dialProtocol: (addr: Multiaddr, protocol: string, options: { signal?: AbortSignal }) => Promise<Stream> }, relay: string | Multiaddr, options: { signal?: AbortSignal } = {}): Promise<string | undefined> {
  const addr = typeof relay === 'string' ? multiaddr(relay) : relay
  const host = stunHost(addr)
  if (host === undefined) return undefined
  const stream = await node.dialProtocol(addr, STUN_PROTOCOL, options)
  try {
    for await (const frame of readFrames(stream, MAX_STUN_ANNOUNCEMENT_BYTES, MAX_STUN_ANNOUNCEMENT_BYTES)) {
      const port = 'bytes' in frame ? decodeStunAnnouncement(frame.bytes) : undefined
      return port === undefined ? undefined : `stun:${host}:${port}`
    }
    return undefined
  } finally {
    await stream.close().catch(() => { stream.abort(new Error('STUN announcement read')) })
  }
}

/** The host part of a STUN URL for the relay at `addr`: its IP (IPv6 in brackets) or DNS name. */
export function stunHost (addr: Multiaddr): string | undefined {
  const c = addr.getComponents().find(c => ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name))
  if (c?.value === undefined) return undefined
  return c.name === 'ip6' ? `[${c.value}]` : c.value
}

/**
 * `base` with the relays' STUN servers added to its ICE servers (those
 * already listed are not repeated). A base without `iceServers` counts as
 * none: Parley never falls back to public STUN servers.
 */
export function withStunServers (base: RTCConfiguration, urls: Iterable<string>): RTCConfiguration {
  const servers = [...(base.iceServers ?? [])]
  const listed = new Set(servers.flatMap(s => typeof s.urls === 'string' ? [s.urls] : s.urls))
  for (const url of urls) {
    if (!listed.has(url)) { servers.push({ urls: url }); listed.add(url) }
  }
  return { ...base, iceServers: servers }
}
