/**
 * Which side of a Node WebRTC connection speaks DTLS first, chosen per
 * connection so that the first ClientHello reaches a peer that can process
 * it (Node only: browsers do not have the bug below).
 *
 * The bug (libdatachannel 0.24.5, bundled by node-datachannel 0.33.4, and
 * still in its main branch in 2026-08): a DTLS record that arrives before
 * the receiving side's ICE is connected is queued by the ICE transport
 * (paullouisageneau/libdatachannel#1554) and replayed when the DTLS
 * transport starts, from `registerIncoming()`, which `DtlsTransport::start()`
 * calls before it sets its state to Connecting; the receive loop that the
 * replay wakes can run before then and return (it only works in Connecting
 * or Connected), leaving the record queued until the next datagram arrives:
 * OpenSSL's first retransmission of the ClientHello, one second later. Traced with
 * libdatachannel's verbose log in network namespaces (2026-12-03, see
 * docs/benchmarks.md): "Received non-STUN datagram … Incoming size=232"
 * before ICE connected, "DtlsTransport::incoming size=232" right after
 * "Registering incoming callback", then nothing until the same 232 bytes
 * again 0.96 s later, answered at once.
 *
 * So the DTLS client must be the side whose ICE connects last, and which
 * side that is depends on the network:
 * - No NAT filtering in front of the offerer (loopback, a LAN, a public
 *   host): the answerer gets the offer and the offerer's candidates first,
 *   its checks are answered at once, and it connects a signalling hop before
 *   the offerer. The offerer must be the client: the offer says
 *   `a=setup:active` (on loopback 1 slow upgrade in 78 against 27 in 80 with
 *   the library's `actpass`, 2026-12-03).
 * - The offerer behind a NAT (its server-reflexive address is none of its
 *   host addresses): the answerer's first checks reach the offerer's NAT
 *   before the offerer has sent anything to the answerer, and are dropped;
 *   the offerer's own check succeeds first, and the answerer connects only
 *   after its triggered check, which libjuice paces by 50-100 ms. The
 *   answerer must be the client: the library's `actpass` (libdatachannel
 *   answers `active`).
 *
 * The offerer learns which case it is in from its candidates: with STUN (or
 * TURN) servers configured, each connection's gathering (offers' and
 * answers') records whether the host's server-reflexive address is one of
 * its own, and an offer follows the latest record. The first offer of a
 * process (no record yet) waits for its own server-reflexive candidate, at
 * most {@link GATHER_WAIT_MS} (about one round trip to the STUN server,
 * which is the relay), holding its trickled candidates until the offer has
 * gone; with `holdOffer` every offer behind a NAT does, which makes the
 * order deterministic (the answerer checks the offerer's public address from
 * the start, so its NAT is open before the offerer's first check comes, and
 * the offerer connects first) at about 100 ms more. An offer behind a NAT
 * carries the candidates gathered so far in its SDP. Without any ICE server
 * an agent has only host candidates and offers `active` at once.
 * - Two agents behind one NAT on one LAN: the offerer sees its NAT and
 *   offers `actpass`, yet the answerer reaches its host candidate directly
 *   and connects first. A Parley answerer that finds a host candidate of the
 *   offer in one of its own subnets reads the offer as `active` (its
 *   libdatachannel answers `passive`: the offerer is the client).
 * Not covered: the first offer after the host moved between networks follows
 * the previous network's record only when this connection's STUN answer is
 * late; the race itself (each side's ICE connecting first now and then, as
 * NAT mappings and check pacing fall) remains, rarer.
 *
 * This wraps `createOffer`, `createAnswer` and `setRemoteDescription` of
 * node-datachannel's `RTCPeerConnection` polyfill, the class @libp2p/webrtc
 * uses in Node: public methods of a public class, wrapped once per process (idempotent, undone by
 * {@link restoreOfferRole}). What would make it unnecessary upstream: the
 * DTLS transport setting its state before it registers for incoming records
 * (or its receive loop keeping queued records for the Connecting state).
 */
import { networkInterfaces } from 'node:os'
import { RTCPeerConnection, RTCSessionDescription } from 'node-datachannel/polyfill'

type CreateOffer = (...args: unknown[]) => Promise<{ type: string, sdp?: string }>

const ORIGINAL = Symbol.for('parley.createOffer')
const ORIGINAL_ANSWER = Symbol.for('parley.createAnswer')
const ORIGINAL_REMOTE = Symbol.for('parley.setRemoteDescription')
const MODE = Symbol.for('parley.offerRole')

/** The longest an offer waits for the offerer's server-reflexive candidate. */
export const GATHER_WAIT_MS = 250

/**
 * How Node offers set the DTLS role: `auto` chooses per connection (see the
 * module documentation), `active` always makes the offerer the client.
 */
export type OfferRole = 'auto' | 'active'

interface OfferPrototype {
  createOffer: CreateOffer
  createAnswer: CreateOffer
  [ORIGINAL]?: CreateOffer
  [ORIGINAL_ANSWER]?: CreateOffer
  setRemoteDescription: (description: { type: string, sdp?: string }) => Promise<void>
  [ORIGINAL_REMOTE]?: (description: { type: string, sdp?: string }) => Promise<void>
  [MODE]?: OfferRole
}

interface GatheringPeer extends EventTarget {
  readonly iceGatheringState: string
  readonly localDescription: { sdp?: string } | null
  getConfiguration: () => { iceServers?: Array<{ urls?: string | string[] }> } | undefined
}

/** `sdp` with every `a=setup:actpass` line made `a=setup:active` (the offerer takes the DTLS client role). */
export function activeSetup (sdp: string): string {
  return sdp.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active')
}

/**
 * Whether ICE candidates (`candidate:…` or `a=candidate:…` lines) show a
 * NAT in front of their agent: `true` with a server-reflexive candidate
 * whose address is none of the host candidates', `false` with one that is a
 * host address (no NAT) or a loopback one, `undefined` without any.
 */
export function natInFront (candidates: readonly string[]): boolean | undefined {
  const parsed = candidates.map(c => c.trim().replace(/^a=/, '').split(/\s+/)).filter(f => f.length >= 8 && f[6] === 'typ')
  const hosts = new Set(parsed.filter(f => f[7] === 'host').map(f => f[4]))
  // loopback: a STUN server on this host sees 127.0.0.1, which libjuice never offers as a host candidate
  const reflexive = parsed.filter(f => f[7] === 'srflx').map(f => f[4] ?? '').filter(a => !/^(127\.|::1$)/.test(a))
  if (reflexive.length === 0) return undefined
  return reflexive.some(a => !hosts.has(a))
}

/** Whether `pc` has a STUN or TURN server to gather a server-reflexive candidate from. */
function hasIceServers (pc: GatheringPeer): boolean {
  const servers = pc.getConfiguration()?.iceServers ?? []
  return servers.some(s => (Array.isArray(s.urls) ? s.urls : [s.urls ?? '']).some(u => /^(stuns?|turns?):/i.test(u)))
}

/** Whether this host was behind a NAT at its latest WebRTC connection that showed it (offers and answers). */
let natKnown: boolean | undefined
/** Whether an offer behind a NAT waits for its own server-reflexive candidate (see {@link offerAsDtlsClient}). */
let holdOffer = false

/** Candidates `pc` has gathered so far (those already in its local description). */
function gathered (pc: GatheringPeer): string[] {
  return (pc.localDescription?.sdp ?? '').split(/\r?\n/).filter(l => l.startsWith('a=candidate:'))
}

/**
 * Follows `pc`'s gathering and records what its candidates show about a NAT
 * ({@link natKnown}); resolves with it once known, gathering is complete, or
 * `ms` have passed (then with what is known by then). It reads the native
 * peer connection's local description, which holds each candidate as soon as
 * libdatachannel has it, besides the candidate events, which a busy event
 * loop delivers late.
 */
async function learnNat (pc: GatheringPeer, ms: number): Promise<boolean | undefined> {
  const seen: string[] = []
  const record = (): boolean | undefined => {
    const nat = natInFront([...gathered(pc), ...seen])
    if (nat !== undefined) natKnown = nat
    return nat
  }
  const settled = (): boolean => record() !== undefined || pc.iceGatheringState === 'complete'
  if (settled()) return record()
  return new Promise(resolve => {
    const deadline = Date.now() + ms
    const onCandidate = (e: Event): void => {
      const c = (e as Event & { candidate?: { candidate?: string } | null }).candidate?.candidate
      if (c !== undefined && c !== '') seen.push(c)
    }
    pc.addEventListener('icecandidate', onCandidate)
    const poll = (): void => {
      if (settled() || Date.now() >= deadline) {
        pc.removeEventListener('icecandidate', onCandidate)
        resolve(record())
        return
      }
      setTimeout(poll, 5)
    }
    poll()
  })
}

/** `sdp` (one media section, as a data-channel offer has) with `candidates` it lacks added at its end. */
export function withCandidates (sdp: string, candidates: readonly string[]): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n'
  const missing = candidates.filter(c => !sdp.includes(c))
  if (missing.length === 0) return sdp
  return sdp.replace(/(\r?\n)*$/, '') + eol + missing.join(eol) + eol
}

/** Whether IPv4 `address` is on one of this host's LANs (the subnet of a non-internal interface). */
function onOurLan (address: string): boolean {
  const toInt = (a: string): number => a.split('.').reduce((n, o) => (n * 256) + Number(o), 0)
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(address)) return false
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family !== 'IPv4' || i.internal) continue
      const mask = toInt(i.netmask)
      if (((toInt(i.address) ^ toInt(address)) & mask) >>> 0 === 0) return true
    }
  }
  return false
}

/**
 * Whether an offer comes from the answering host's own LAN: a host
 * candidate in one of its subnets. The answerer's checks then reach the
 * offerer directly and it connects first, so it should be the DTLS server.
 */
export function offerFromOurLan (sdp: string, onLan: (address: string) => boolean = onOurLan): boolean {
  return sdp.split(/\r?\n/).filter(l => l.startsWith('a=candidate:')).map(l => l.split(/\s+/)).some(f => f[7] === 'host' && onLan(f[4] ?? ''))
}

type CandidateHandler = ((this: unknown, e: Event) => unknown) | null

/**
 * Makes node-datachannel's offers choose the DTLS role (see the module
 * documentation): per connection with `auto` (the default), always the
 * offerer with `active`. With `holdOffer: true` every offer behind a NAT
 * waits for its server-reflexive candidate (not only the first): the
 * offerer's ICE then connects first every time, as `actpass` needs, at the
 * cost of about 100 ms (the STUN round trip and the answerer's paced
 * triggered check). Idempotent; a second call only changes the settings.
 */
export function offerAsDtlsClient (mode: OfferRole = 'auto', options: { holdOffer?: boolean } = {}): void {
  const proto = RTCPeerConnection.prototype as unknown as OfferPrototype
  proto[MODE] = mode
  holdOffer = options.holdOffer ?? false
  if (proto[ORIGINAL] !== undefined) return
  const original = proto.createOffer
  const originalAnswer = proto.createAnswer
  proto[ORIGINAL] = original
  proto[ORIGINAL_ANSWER] = originalAnswer
  proto.createOffer = async function (this: GatheringPeer & { onicecandidate: CandidateHandler }, ...args: unknown[]) {
    const stun = proto[MODE] === 'auto' && hasIceServers(this)
    if (!stun || natKnown === false || (natKnown === true && !holdOffer)) {
      if (stun) void learnNat(this, GATHER_WAIT_MS)
      const offer = await original.apply(this, args)
      if (offer.sdp === undefined) return offer
      if (natKnown !== true) return new RTCSessionDescription({ type: 'offer', sdp: activeSetup(offer.sdp) })
      // `actpass`, with the host candidates (gathered at once) in the offer, for an answerer on this LAN (below)
      return new RTCSessionDescription({ type: 'offer', sdp: withCandidates(offer.sdp, gathered(this)) })
    }
    // behind a NAT (or not knowing yet) the offer waits for its server-reflexive candidate (one STUN round
    // trip), so the answerer gets it with the offer and its checks open its NAT to the offerer before the
    // offerer's first check arrives there; the offerer then connects first, as the answerer, the DTLS client,
    // needs. Its candidates are held meanwhile: @libp2p/webrtc sends each as it comes, and the offer must go first
    const handler = this.onicecandidate
    const held: Event[] = []
    const holding: CandidateHandler = (e) => { held.push(e) }
    this.onicecandidate = holding
    try {
      const [offer, nat] = await Promise.all([original.apply(this, args), learnNat(this, GATHER_WAIT_MS)])
      // this connection's candidates, else what the latest connection showed
      if (offer.sdp === undefined) return offer
      if ((nat ?? natKnown) !== true) return new RTCSessionDescription({ type: 'offer', sdp: activeSetup(offer.sdp) })
      // `actpass`, with the candidates gathered so far in the offer itself: a Parley answerer on this
      // LAN sees them there and takes the server role (below), as it connects first
      return new RTCSessionDescription({ type: 'offer', sdp: withCandidates(offer.sdp, gathered(this)) })
    } finally {
      // after the caller has sent the offer (it writes it as soon as this resolves)
      setTimeout(() => {
        if (this.onicecandidate !== holding) return
        this.onicecandidate = handler
        for (const e of held) handler?.call(this, e)
      }, 0)
    }
  }
  // an `actpass` offer from this host's LAN: answer as the DTLS server (the offerer becomes the client)
  const originalRemote = proto.setRemoteDescription
  proto[ORIGINAL_REMOTE] = originalRemote
  proto.setRemoteDescription = async function (this: unknown, description: { type: string, sdp?: string }) {
    if (proto[MODE] === 'auto' && description?.type === 'offer' && description.sdp !== undefined && /^a=setup:actpass\r?$/m.test(description.sdp) && offerFromOurLan(description.sdp)) {
      return originalRemote.call(this, new RTCSessionDescription({ type: 'offer', sdp: activeSetup(description.sdp) }))
    }
    return originalRemote.call(this, description)
  }
  // answers take no role of their own (they follow the offer) but show the NAT too
  proto.createAnswer = async function (this: GatheringPeer, ...args: unknown[]) {
    if (hasIceServers(this)) void learnNat(this, GATHER_WAIT_MS)
    return originalAnswer.apply(this, args)
  }
}

/** Undoes {@link offerAsDtlsClient}: the library's own offers (`actpass`; the bench measures both). */
export function restoreOfferRole (): void {
  const proto = RTCPeerConnection.prototype as unknown as OfferPrototype
  const original = proto[ORIGINAL]
  if (original === undefined) return
  proto.createOffer = original
  const answer = proto[ORIGINAL_ANSWER]
  if (answer !== undefined) proto.createAnswer = answer
  const remote = proto[ORIGINAL_REMOTE]
  if (remote !== undefined) proto.setRemoteDescription = remote
  delete proto[ORIGINAL_REMOTE]
  delete proto[ORIGINAL]
  delete proto[ORIGINAL_ANSWER]
  delete proto[MODE]
}
