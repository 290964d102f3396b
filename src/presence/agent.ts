/**
 * Presence for agents (opt-in, `createAgent({ presence: true })`): the
 * gossipsub service it needs, and the announcement an agent publishes —
 * its handle (once its record is published), kind, capabilities (the
 * methods it serves, unless given) and a summary of its connections.
 */
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import { connectionSummary } from '../node/transport.js'
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

/** Starts announcing `agent` on `libp2p`'s gossipsub and listening to others. */
export function startAgentPresence (agent: PresenceAgent, libp2p: Libp2p<{ pubsub: GossipSub }>, option: AgentPresenceOption): Presence {
  const settings = typeof option === 'object' ? option : {}
  const presence = new Presence(libp2p.services.pubsub, {
    self: agent.identity.peerIdString,
    resolve: agent.resolve,
    ...(settings.intervalMs === undefined ? {} : { intervalMs: settings.intervalMs }),
    announcement: async () => {
      const handle = agent.announcedHandle()
      return signPresence(agent.identity, {
        ...(handle === undefined ? {} : { handle }),
        kind: agent.identity.kind,
        capabilities: (settings.capabilities ?? agent.capabilities()).slice(0, 32),
        connections: connectionSummary(libp2p).slice(0, 64).map(({ peer, transport }) => ({ peer, transport }))
      })
    }
  })
  const changed = (): void => { presence.announceSoon() }
  libp2p.addEventListener('connection:open', changed)
  libp2p.addEventListener('connection:close', changed)
  presence.start()
  const stop = presence.stop.bind(presence)
  presence.stop = () => {
    libp2p.removeEventListener('connection:open', changed)
    libp2p.removeEventListener('connection:close', changed)
    stop()
  }
  return presence
}
