/**
 * The relay's STUN server: answers RFC 5389 Binding requests with the
 * address and port the request came from (XOR-MAPPED-ADDRESS), which is all
 * an ICE agent behind a NAT needs to learn its server-reflexive candidate.
 *
 * Written here rather than taken from the registry: the `stun` npm package
 * (2.1.0, unchanged since 2019) pulls 97 packages, among them `ip` 1 and
 * `parse-url` 5, both with published advisories, and still leaves building
 * the response to the caller. A Binding response is a 20-byte header and one
 * attribute; this module is that and nothing else (no TURN, no
 * authentication, no RFC 3489 "classic STUN").
 *
 * Bounded: a datagram is answered or dropped on arrival, nothing is kept per
 * request; answers are rate-limited per source IP and in total
 * (`util/token-bucket`), so the server cannot be used to reflect a flood at
 * a spoofed address, and a response is at most 52 bytes (IPv6 with
 * FINGERPRINT), for requests of at least 20.
 */
import { createSocket } from 'node:dgram'
import type { Socket, RemoteInfo } from 'node:dgram'
import { crc32 } from 'node:zlib'
import { isIPv4, isIPv6 } from 'node:net'
import { logger } from '@libp2p/logger'
import { TokenBuckets } from '../util/token-bucket.js'
import type { Tally } from '../util/tally.js'

const log = logger('parley:relay:stun')

/** The IANA port for STUN over UDP, where a relay serves it unless told otherwise. */
export const DEFAULT_STUN_PORT = 3478

const MAGIC_COOKIE = 0x2112A442
const HEADER_BYTES = 20
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const XOR_MAPPED_ADDRESS = 0x0020
const FINGERPRINT = 0x8028
const FINGERPRINT_XOR = 0x5354554E
/** Longest request read (RFC 5389 §7.1: 548 bytes unless the path MTU is known); longer ones are dropped. */
const MAX_REQUEST_BYTES = 548

/** Why a datagram got no answer (`undefined`: it is a Binding request to answer). */
export type StunDrop = 'malformed' | 'not_binding' | 'bad_fingerprint'

/** Checks a datagram: a well-formed RFC 5389 Binding request, its FINGERPRINT right if it has one. */
export function checkBindingRequest (msg: Uint8Array): StunDrop | undefined {
  if (msg.byteLength < HEADER_BYTES || msg.byteLength > MAX_REQUEST_BYTES) return 'malformed'
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
  const type = view.getUint16(0)
  const length = view.getUint16(2)
  // the two top bits are zero, the length covers exactly the attributes (a multiple of 4), the cookie is there
  if ((type & 0xC000) !== 0 || length !== msg.byteLength - HEADER_BYTES || length % 4 !== 0 || view.getUint32(4) !== MAGIC_COOKIE) return 'malformed'
  if (type !== BINDING_REQUEST) return 'not_binding'
  // attributes are walked only to find their end; none is acted on
  let at = HEADER_BYTES
  while (at < msg.byteLength) {
    if (at + 4 > msg.byteLength) return 'malformed'
    const attrType = view.getUint16(at)
    const attrLength = view.getUint16(at + 2)
    const next = at + 4 + Math.ceil(attrLength / 4) * 4
    if (next > msg.byteLength) return 'malformed'
    if (attrType === FINGERPRINT) {
      // the last attribute when present (RFC 5389 §15.5)
      if (attrLength !== 4 || next !== msg.byteLength) return 'malformed'
      if (view.getUint32(at + 4) !== fingerprint(msg.subarray(0, at))) return 'bad_fingerprint'
    }
    at = next
  }
  return undefined
}

/** True when the request ends in a FINGERPRINT attribute (checked by {@link checkBindingRequest}). */
function hasFingerprint (msg: Uint8Array): boolean {
  if (msg.byteLength < HEADER_BYTES + 8) return false
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
  return view.getUint16(msg.byteLength - 8) === FINGERPRINT && view.getUint16(msg.byteLength - 6) === 4
}

function fingerprint (bytes: Uint8Array): number {
  return (crc32(bytes) ^ FINGERPRINT_XOR) >>> 0
}

/**
 * The Binding success response to `request` (a Binding request that
 * {@link checkBindingRequest} accepted) from `address`:`port`: the same
 * transaction id, one XOR-MAPPED-ADDRESS, and a FINGERPRINT when the request
 * carried one.
 */
export function bindingResponse (request: Uint8Array, address: string, port: number): Uint8Array {
  const v6 = isIPv6(address)
  if (!v6 && !isIPv4(address)) throw new Error(`not an IP address: ${address}`)
  const addrBytes = v6 ? ipv6Bytes(address) : ipv4Bytes(address)
  const withFingerprint = hasFingerprint(request)
  const attrs = 4 + 4 + addrBytes.byteLength + (withFingerprint ? 8 : 0)
  const out = new Uint8Array(HEADER_BYTES + attrs)
  const view = new DataView(out.buffer)
  view.setUint16(0, BINDING_SUCCESS)
  view.setUint16(2, attrs)
  // magic cookie and transaction id, as the request has them
  out.set(request.subarray(4, HEADER_BYTES), 4)
  view.setUint16(20, XOR_MAPPED_ADDRESS)
  view.setUint16(22, 4 + addrBytes.byteLength)
  view.setUint8(25, v6 ? 0x02 : 0x01)
  view.setUint16(26, port ^ (MAGIC_COOKIE >>> 16))
  // the address XORed with the cookie (IPv4), or with the cookie and the transaction id (IPv6)
  for (let i = 0; i < addrBytes.byteLength; i++) out[28 + i] = (addrBytes[i] ?? 0) ^ (out[4 + i] ?? 0)
  if (withFingerprint) {
    const at = 28 + addrBytes.byteLength
    view.setUint16(at, FINGERPRINT)
    view.setUint16(at + 2, 4)
    view.setUint32(at + 4, fingerprint(out.subarray(0, at)))
  }
  return out
}

function ipv4Bytes (address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number))
}

function ipv6Bytes (address: string): Uint8Array {
  // an IPv4-mapped tail (::ffff:1.2.3.4) becomes two groups
  const text = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`)
  const [head = '', tail] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  const out = new Uint8Array(16)
  groups.forEach((g, i) => { const n = parseInt(g, 16); out[2 * i] = n >> 8; out[2 * i + 1] = n & 0xFF })
  return out
}

/** Rates that bound what the STUN server answers. */
export interface StunLimits {
  /** Answers a second to one source IP address, after a burst of `burstPerIp`. */
  ratePerIp: number
  /** Answers one source IP address may have at once. */
  burstPerIp: number
  /** Answers a second in all, after a burst of twice as many. */
  rate: number
}

/**
 * An ICE agent sends one request per local address per STUN server when it
 * gathers (each WebRTC dial), and retransmits an unanswered one about seven
 * times: 20 a second after a burst of 64 lets a NATed office of dozens of
 * agents gather at once, while one host cannot get more than ~1.3 KB/s of
 * answers aimed anywhere.
 */
export const DEFAULT_STUN_LIMITS: StunLimits = { ratePerIp: 20, burstPerIp: 64, rate: 2000 }

/** A running STUN server, as a relay runs it (`startStunServer` in src/node/stun.ts). */
export interface StunServer {
  /** The port it answers on. */
  readonly port: number
  /** The addresses it is bound to (`0.0.0.0` / `::` for all). */
  readonly addresses: string[]
  /** Closes its sockets. */
  close: () => Promise<void>
}

export interface StunServerOptions {
  /** UDP port (1–65535). */
  port: number
  /** Local addresses to bind, IPv4 or IPv6 (a wildcard covers its family). */
  hosts: string[]
  limits?: Partial<StunLimits>
  /**
   * Counts what happened to each datagram: `answered`, `denied_ip_rate`,
   * `denied_rate`, and the {@link StunDrop} reasons.
   */
  tally?: Tally
}

/**
 * Binds UDP `port` on each of `hosts` and answers Binding requests. Rejects
 * (closing what it opened) when a bind fails, e.g. the port is in use.
 */
export async function startStunServer (options: StunServerOptions): Promise<StunServer> {
  const limits = { ...DEFAULT_STUN_LIMITS, ...options.limits }
  const perIp = new TokenBuckets<string>({ rate: limits.ratePerIp, burst: limits.burstPerIp })
  const total = new TokenBuckets<0>({ rate: limits.rate, burst: 2 * limits.rate })
  const tally = options.tally
  const hosts = bindHosts(options.hosts)
  const sockets: Socket[] = []

  const onMessage = (socket: Socket) => (msg: Buffer, rinfo: RemoteInfo): void => {
    const drop = checkBindingRequest(msg)
    if (drop !== undefined) { tally?.add(drop); return }
    const now = Date.now()
    if (!perIp.allows(rinfo.address, now)) { tally?.add('denied_ip_rate'); return }
    if (!total.allows(0, now)) { tally?.add('denied_rate'); return }
    perIp.spend(rinfo.address, now)
    total.spend(0, now)
    // an IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d, and is answered as IPv4
    const address = rinfo.address.startsWith('::ffff:') && isIPv4(rinfo.address.slice(7)) ? rinfo.address.slice(7) : rinfo.address
    socket.send(bindingResponse(msg, address, rinfo.port), rinfo.port, rinfo.address, (err) => {
      if (err != null) log('could not answer %s:%d: %s', rinfo.address, rinfo.port, err.message)
    })
    tally?.add('answered')
  }

  const closeAll = async (): Promise<void> => {
    await Promise.all(sockets.map(async s => new Promise<void>(resolve => { try { s.close(() => { resolve() }) } catch { resolve() } })))
  }
  try {
    for (const host of hosts) {
      const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(host) })
      sockets.push(socket)
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind(options.port, host, () => {
          socket.off('error', reject)
          resolve()
        })
      })
      // after binding, an error (e.g. ICMP unreachable reported on send) must not crash the relay
      socket.on('error', (err) => { log('STUN socket %s: %s', host, err.message) })
      socket.on('message', onMessage(socket))
    }
  } catch (err) {
    await closeAll()
    throw err
  }
  log('STUN on UDP %s port %d', hosts.join(', '), options.port)
  return { port: options.port, addresses: hosts, close: closeAll }
}

/** The addresses to bind for `hosts`: distinct, and only the wildcard of a family that has one. */
function bindHosts (hosts: string[]): string[] {
  const unique = [...new Set(hosts.map(h => h.replace(/^\[|\]$/g, '')).filter(h => isIPv4(h) || isIPv6(h)))]
  const any4 = unique.includes('0.0.0.0')
  const any6 = unique.includes('::')
  const out = unique.filter(h => isIPv4(h) ? !any4 || h === '0.0.0.0' : !any6 || h === '::')
  return out.length === 0 ? ['0.0.0.0'] : out
}
