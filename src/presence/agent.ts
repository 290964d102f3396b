/**
 * Presence for agents (opt-in, `createAgent({ presence: true })`): the
 * gossipsub service it needs, and the announcement an agent publishes —
 * its handle (once its record is published), kind, capabilities (the
 * methods it serves, unless given) and a summary of its connections.
 */
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, Libp2pEvents, TypedEventTarget } from '@libp2p/interface'
import { connectionSummary } from '../util/transport.js'
import { signPresence } from './announcement.js'
import { Presence } from './presence.js'
import { presenceGossipsubOptions } from './scoring.js'
import type { HandleLookup, PresenceSigner } from './announcement.js'

/** The agent option: `true`, or settings. */
export type AgentPresenceOption = boolean | {
  /** What to announce as capabilities (default: the methods the agent serves). */
  capabilities?: string[]
  /** Announcement period (default 10 s). */
  intervalMs?: number
}

/** True when the option turns presence on. */
export function presenceEnabled (option: AgentPresenceOption | undefined): boolean {
  return option === true || (typeof option === 'object' && option !== null)
}

/** The gossipsub service an agent runs when presence is on, scoring the presence topic as relays do (`scoring.ts`). */
export function presencePubsub (): ReturnType<typeof gossipsub> {
  return gossipsub(presenceGossipsubOptions())
}

/** What presence needs from an agent. */
export interface PresenceAgent {
  readonly identity: PresenceSigner & { readonly kind: 'agent' | 'human' }
  /** The handle to announce: only once our record is published. */
  announcedHandle: () => string | undefined
  /** Default capabilities. */
  capabilities: () => string[]
  resolve: HandleLookup
}

/** What presence needs from the node: its gossipsub, its connection events and its connections. */
export interface PresenceNode {
  pubsub: GossipSub
  events: Pick<TypedEventTarget<Libp2pEvents>, 'addEventListener' | 'removeEventListener'>
  getConnections: () => Connection[]
}

/** Starts announcing `agent` on the node's gossipsub and listening to others. */
export function startAgentPresence (agent: PresenceAgent, node: PresenceNode, option: AgentPresenceOption): Presence {
  const settings = typeof option === 'object' ? option : {}
  const presence = new Presence(node.pubsub, {
    self: agent.identity.peerIdString,
    resolve: agent.resolve,
    ...(settings.intervalMs === undefined ? {} : { intervalMs: settings.intervalMs }),
    announcement: async () => {
      const handle = agent.announcedHandle()
      return signPresence(agent.identity, {
        ...(handle === undefined ? {} : { handle }),
        kind: agent.identity.kind,
        capabilities: (settings.capabilities ?? agent.capabilities()).slice(0, 32),
        connections: connectionSummary(node).slice(0, 64).map(({ peer, transport }) => ({ peer, transport }))
      })
    }
  })
  const changed = (): void => { presence.announceSoon() }
  node.events.addEventListener('connection:open', changed)
  node.events.addEventListener('connection:close', changed)
  presence.start()
  const stop = presence.stop.bind(presence)
  presence.stop = () => {
    node.events.removeEventListener('connection:open', changed)
    node.events.removeEventListener('connection:close', changed)
    stop()
  }
  return presence
}
