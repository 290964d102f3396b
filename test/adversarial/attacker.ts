/**
 * The attacker's own codec, written from protocols/ with no Parley code:
 * RFC 8785 canonical JSON (for the values it sends), base64url, H(x), and
 * the signed objects it makes — envelopes (protocols/envelope §2–3),
 * negotiation transitions (protocols/negotiation §3–4) and presence
 * announcements (protocols/presence §2–3) — each signed with the attacker's
 * stock libp2p Ed25519 key. And {@link Speaker}: a session as the attacker
 * speaks it on a {@link RawSession} (hello, requests matched by id, answers
 * to the victim's own requests).
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { RawSession, SESSION } from './helpers.js'

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined }

// --- canonical JSON (RFC 8785): ECMAScript's number and string serialisation, members sorted by UTF-16 code units

export function jcs (value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('not I-JSON: ' + String(value))
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return '[' + value.map(v => jcs(v)).join(',') + ']'
  if (typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    return '{' + members.map(([k, v]) => JSON.stringify(k) + ':' + jcs(v)).join(',') + '}'
  }
  throw new TypeError('not JSON: ' + typeof value)
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
export const b64u = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')
/** H(x): base64url of SHA-256 of the canonical JSON of x (protocols/negotiation §1). */
export const H = (value: unknown): string => b64u(createHash('sha256').update(jcs(value)).digest())
/** SHA-256 of bytes, base64url (protocols/approval §1). */
export const sha256 = (bytes: Uint8Array): string => b64u(createHash('sha256').update(bytes).digest())
const random = (n: number): string => b64u(randomBytes(n))

/** The canonical peer id string of a key. */
export const peerOf = (key: PrivateKey): string => peerIdFromPrivateKey(key).toString()

async function sign (key: PrivateKey, context: string, unsigned: object): Promise<string> {
  const input = Buffer.concat([utf8(context), utf8(jcs(unsigned))])
  return b64u(await key.sign(input))
}

// --- envelopes (protocols/envelope)

export interface EnvelopeDraft {
  to: { peer?: string, handle?: string }
  body: Json
  /** Default: the signing key's peer. */
  from?: { peer: string, handle?: string }
  id?: string
  ts?: number
  nonce?: string
}

/** A signed envelope: its wire bytes, its id and its value. */
export interface Envelope { bytes: Uint8Array, id: string, value: Record<string, Json> }

export async function envelope (key: PrivateKey, draft: EnvelopeDraft): Promise<Envelope> {
  const unsigned = {
    v: 1,
    id: draft.id ?? random(16),
    ts: draft.ts ?? Date.now(),
    from: draft.from ?? { peer: peerOf(key) },
    to: draft.to,
    nonce: draft.nonce ?? random(16),
    body: draft.body
  }
  const value = { ...unsigned, sig: await sign(key, 'parley/envelope/v1\n', unsigned) } as unknown as Record<string, Json>
  return { bytes: utf8(jcs(value)), id: unsigned.id, value }
}

// --- negotiation transitions (protocols/negotiation)

/** A transition as signed (`sig` included). */
export type Transition = Record<string, Json> & { negotiation: string, seq: number, type: string, by: string, ts: number, sig: string }

async function signTransition (key: PrivateKey, unsigned: Record<string, Json>): Promise<Transition> {
  return { ...unsigned, sig: await sign(key, 'parley/negotiation/v1\n', unsigned) } as Transition
}

/** A propose from `key` to `counterparty` (§3): `[proposer, counterparty]`, the terms and their hash. */
export async function proposeAs (key: PrivateKey, options: { counterparty: string, subject?: string, terms: Record<string, Json>, expires?: number, ts?: number, negotiation?: string }): Promise<Transition> {
  const by = peerOf(key)
  const ts = options.ts ?? Date.now()
  return signTransition(key, {
    v: 1,
    negotiation: options.negotiation ?? random(16),
    seq: 0,
    type: 'propose',
    by,
    ts,
    parties: [{ peer: by }, { peer: options.counterparty }],
    subject: options.subject ?? 'adversarial offer',
    expires: options.expires ?? ts + 60 * 60_000,
    terms: options.terms,
    termsHash: H(options.terms)
  })
}

/** The next transition after `prev` (or with `seq`/`prev` given): counter (with terms), accept (of `offer`), reject, cancel. */
export async function moveAs (key: PrivateKey, prev: Transition, type: 'counter' | 'accept' | 'reject' | 'cancel', options: { terms?: Record<string, Json>, offer?: Transition, reason?: string, ts?: number, seq?: number, prevHash?: string } = {}): Promise<Transition> {
  const unsigned: Record<string, Json> = {
    v: 1,
    negotiation: prev.negotiation,
    seq: options.seq ?? prev.seq + 1,
    type,
    prev: options.prevHash ?? H(prev),
    by: peerOf(key),
    ts: options.ts ?? Date.now()
  }
  if (type === 'counter') {
    const terms = options.terms ?? { price: { value: 1, currency: 'GBP' } }
    unsigned.terms = terms
    unsigned.termsHash = H(terms)
  }
  if (type === 'accept') unsigned.termsHash = (options.offer ?? prev).termsHash as string
  if (options.reason !== undefined) unsigned.reason = options.reason
  return signTransition(key, unsigned)
}

// --- presence announcements (protocols/presence)

export interface AnnouncementDraft {
  /** The peer the announcement names (default: the signing key's). */
  peer?: string
  handle?: string
  kind?: 'agent' | 'human'
  capabilities?: string[]
  connections?: Array<{ peer: string, transport: string }>
  ts?: number
}

/** An announcement's wire bytes (its canonical JSON, `sig` included), signed by `key`. */
export async function announcement (key: PrivateKey, draft: AnnouncementDraft = {}): Promise<Uint8Array> {
  const unsigned: Record<string, Json> = {
    v: 1,
    peer: draft.peer ?? peerOf(key),
    kind: draft.kind ?? 'agent',
    capabilities: draft.capabilities ?? [],
    connections: draft.connections ?? [],
    ts: draft.ts ?? Date.now()
  }
  if (draft.handle !== undefined) unsigned.handle = draft.handle
  return utf8(jcs({ ...unsigned, sig: await sign(key, 'parley/presence/v1\n', unsigned) }))
}

// --- a session as the attacker speaks it

/** A JSON-RPC body as received. */
export interface Body {
  id?: Json
  method?: string
  params?: Json
  result?: Json
  error?: { code: number, message: string, data?: { code?: string, state?: string, seq?: number, scope?: string, limit?: number } & Record<string, Json> }
}

/**
 * The attacker's side of a session on a {@link RawSession}: its hello, its
 * requests (answers matched by JSON-RPC id), and answers to what the victim
 * asks (`session/ping`, and any method given in `answers`).
 */
export class Speaker {
  readonly raw: RawSession
  readonly key: PrivateKey
  readonly victim: string
  /** Requests and notifications the victim sent, in order. */
  readonly received: Body[] = []
  /** How the attacker answers the victim's requests, by method (default: `null`). */
  readonly answers = new Map<string, (body: Body) => Json>([['session/ping', () => 'pong']])
  #next = 1
  #seen = 0
  #timer: ReturnType<typeof setInterval>

  constructor (raw: RawSession, key: PrivateKey, victim: string) {
    this.raw = raw
    this.key = key
    this.victim = victim
    this.#timer = setInterval(() => { this.#pump() }, 10)
  }

  /** The bodies of every frame received so far. */
  bodies (): Body[] {
    return this.raw.frames.map(f => (JSON.parse(new TextDecoder().decode(f)) as { body?: Body }).body ?? {})
  }

  #pump (): void {
    if (this.raw.isEnded) { clearInterval(this.#timer); return }
    const bodies = this.bodies()
    for (; this.#seen < bodies.length; this.#seen++) {
      const body = bodies[this.#seen] as Body
      if (body.method === undefined || body.method === 'session/hello') continue
      this.received.push(body)
      if (body.id === undefined) continue
      const answer = this.answers.get(body.method)
      void this.send({ jsonrpc: '2.0', id: body.id, result: answer === undefined ? null : answer(body) }).catch(() => {})
    }
  }

  /** Signs and sends a body (as the attacker, to the victim). */
  async send (body: Json, draft: Partial<EnvelopeDraft> = {}): Promise<Envelope> {
    const env = await envelope(this.key, { to: { peer: this.victim }, body, ...draft })
    this.raw.send(env.bytes)
    return env
  }

  /** Sends the hello and waits for the victim's. */
  async hello (): Promise<this> {
    await this.send({ jsonrpc: '2.0', method: 'session/hello', params: { session: 'adversary-' + random(8) } })
    const first = await this.raw.frame(0)
    if ((first.body as Body | undefined)?.method !== 'session/hello') throw new Error('the victim did not answer the hello with its own')
    return this
  }

  /** A request id not used yet. */
  nextId (): number { return this.#next++ }

  /** Sends a request and waits for its answer (the body with its id and no method). */
  async request (method: string, params?: Json, draft: Partial<EnvelopeDraft> = {}): Promise<Body & { envelope: Envelope }> {
    const id = this.nextId()
    const env = await this.send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }, draft)
    return { ...await this.answer(id), envelope: env }
  }

  /** Waits for the answer to request `id` (the `nth` answer with that id, 0-based: a replayed request is answered again). */
  async answer (id: Json, timeoutMs = 10_000, nth = 0): Promise<Body> {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const found = this.bodies().filter(b => b.method === undefined && b.id === id)[nth]
      if (found !== undefined) return found
      if (this.raw.isEnded) throw new Error(`the stream ended before the answer to ${String(id)}`)
      if (Date.now() > deadline) throw new Error(`no answer to ${String(id)} within ${timeoutMs} ms`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  /** Sends a notification. */
  async notify (method: string, params?: Json): Promise<Envelope> {
    return this.send({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) })
  }

  /** Waits until the victim has sent a request or notification matching `match`. */
  async receive (what: string, match: (body: Body) => boolean, timeoutMs = 10_000): Promise<Body> {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const found = this.received.find(match)
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`the victim sent no ${what} within ${timeoutMs} ms`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  close (): void {
    clearInterval(this.#timer)
    this.raw.stream.abort(new Error('done'))
  }
}

/** Dials `victim` through `relay` (a relayed, limited connection) and opens a session stream: raw, no hello yet. */
export async function openRaw (node: Libp2p, relay: Multiaddr, victim: string): Promise<RawSession> {
  const connection = await node.dial(multiaddr(`${relay.toString()}/p2p-circuit/p2p/${victim}`), { signal: AbortSignal.timeout(10_000) })
  const stream = await connection.newStream(SESSION, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
  return new RawSession(stream)
}

/** A session with `victim` as the attacker (`key` is `node`'s), its hello exchanged. */
export async function speak (node: Libp2p, key: PrivateKey, relay: Multiaddr, victim: string): Promise<Speaker> {
  return new Speaker(await openRaw(node, relay, victim), key, victim).hello()
}

/** The presence topic (protocols/presence §1). */
export const PRESENCE = '/parley/presence/1.0.0'

/**
 * A stock js-libp2p node with gossipsub (strict signing, the default), that
 * dials `relay` and subscribes to the presence topic; resolves once the relay
 * is among the topic's subscribers, so that what it publishes reaches it.
 */
export async function pubsubAttacker (privateKey: PrivateKey, relay: Multiaddr, relayPeer: string): Promise<Libp2p<{ pubsub: GossipSub }>> {
  const node = await createLibp2p({
    privateKey,
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
  node.services.pubsub.subscribe(PRESENCE)
  await node.dial(relay)
  const deadline = Date.now() + 10_000
  while (!node.services.pubsub.getSubscribers(PRESENCE).some(p => p.toString() === relayPeer)) {
    if (Date.now() > deadline) throw new Error('the relay never showed as a subscriber of the presence topic')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return node
}
