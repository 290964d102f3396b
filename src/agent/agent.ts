/**
 * The agent node in Node.js: what an agent developer embeds to join the mesh.
 *
 * An agent holds an identity, reserves slots on relays (it needs no public
 * address), publishes its handle record to the DHT (proof of work included)
 * and republishes it before expiry, resolves other handles, and opens
 * sessions: signed JSON-RPC 2.0 in both directions over one stream, upgraded
 * to a direct WebRTC connection when the peers can reach each other. In Node
 * it runs TCP, WebSockets, WebRTC (node-datachannel) and circuit relay, and
 * keeps its key, stores and replay journal in `dataDir` (LevelDB), or in
 * memory without one. The browser assembly is `browser.ts`.
 *
 * @example
 * ```ts
 * import { createAgent } from 'parley-mesh'
 *
 * const relayAddr = process.env.PARLEY_RELAY ?? ''
 * const plumber = await createAgent({ handle: 'rapidplumb', relays: [relayAddr] })
 * plumber.handle('ping', () => 'pong')
 * await plumber.start()
 *
 * const me = await createAgent({ relays: [relayAddr] })
 * await me.start()
 * const session = await me.connect('@rapidplumb')
 * console.log(await session.request('ping')) // 'pong'
 * ```
 *
 * @packageDocumentation
 */
import { join } from 'node:path'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { logger } from '@libp2p/logger'
import { LevelDatastore } from 'datastore-level'
import { createIdentity, loadOrCreateIdentity, saveIdentity } from '../identity/index.js'
import { AgentError, AgentErrorCode } from '../errors.js'
import { ReplayJournal } from '../store/replay-journal.js'
import { Agent, assembleAgent, memoryStores } from './assembly.js'
import type { AgentPlatform, AgentStores } from './assembly.js'
import type { AgentOptions } from './options.js'
import { oneLine } from './errors.js'
import { offerAsDtlsClient } from './dtls-role.js'
import { createAudioLeg } from '../media/leg.js'
import type { AudioLeg } from '../media/leg.js'

const log = logger('parley:agent')

export { Agent }
export type { AgentOptions }
export type { AgentServices, AgentPlatform, AgentStores } from './assembly.js'
export type { AgentEvents } from './events.js'

/**
 * Creates an agent (not started: call {@link Agent.start}). The options are
 * checked first: a bad relay address or handle throws `ERR_INVALID_OPTIONS`
 * before any key is created or any file written.
 */
export async function createAgent (options: AgentOptions): Promise<Agent> {
  // node-datachannel's offers take the DTLS client role: no lost ClientHello, no 1 s upgrade (dtls-role.ts)
  offerAsDtlsClient()
  return assembleAgent(options, NODE)
}

/** Node.js: TCP besides the rest, keys and stores in the data directory. */
export const NODE: AgentPlatform = {
  name: 'node',
  identity: async (o) => o.dataDir === undefined
    ? createIdentity({ kind: o.kind ?? 'agent' })
    : loadOrCreateIdentity({ dataDir: o.dataDir, kind: o.kind ?? 'agent' }),
  saveIdentity: async (o, identity) => {
    if (o.dataDir !== undefined) await saveIdentity(o.dataDir, identity, { overwrite: true })
  },
  stores: openNodeStores,
  transports: () => [tcp(), webSockets()],
  // Node dials what it is given: LAN and loopback addresses are normal here
  gater: () => ({ denyDialMultiaddr: () => false }),
  rtcConfiguration: defaultRtcConfiguration,
  audioLeg: nodeAudioLeg,
  stopped: releaseWebRTC
}

/**
 * A call's audio leg in Node: its own media-first node-datachannel peer
 * connection (src/media/leg.ts), with the relays' STUN servers and those of
 * the agent's ICE configuration, bound where its WebRTC is.
 */
function nodeAudioLeg (options: { iceServers: string[], label: string }, rtc: RTCConfiguration): AudioLeg {
  const configured = (rtc.iceServers ?? []).flatMap(s => typeof s.urls === 'string' ? [s.urls] : s.urls).filter(u => u.startsWith('stun:'))
  const bind = (rtc as { bindAddress?: string }).bindAddress
  return createAudioLeg({ iceServers: [...new Set([...configured, ...options.iceServers])], label: options.label, ...(bind === undefined ? {} : { bindAddress: bind }) })
}

/** LevelDB and the replay journal in `<dataDir>`, or memory without one. */
async function openNodeStores (o: AgentOptions): Promise<AgentStores> {
  if (o.dataDir === undefined) return memoryStores()
  const datastore = new LevelDatastore(join(o.dataDir, 'datastore'))
  try {
    await datastore.open()
  } catch (err) {
    throw new AgentError(AgentErrorCode.DATA_DIR_UNAVAILABLE, `cannot open the store in ${o.dataDir} (${oneLine(err)}): is another agent running with this data directory? Stop it, or give this agent a directory of its own`, { cause: err })
  }
  // the journal is in the data dir, whose LevelDB lock is ours now: no other process writes it
  const replay = await ReplayJournal.open(join(o.dataDir, 'replay')).catch(async (err: unknown) => { await datastore.close(); throw err })
  return {
    datastore,
    replay,
    close: async () => {
      await replay.close()
      await datastore.close()
    }
  }
}

/**
 * node-datachannel can keep a native callback of a closed data channel
 * referenced, so a process whose agents have all stopped never exits
 * (murat-dogan/node-datachannel#349). When the last agent stops, release its
 * threads; libdatachannel initializes itself again if WebRTC is used later.
 */
async function releaseWebRTC (stillRunning: number): Promise<void> {
  if (stillRunning > 0) return
  try {
    const { default: ndc } = await import('node-datachannel')
    ndc.cleanup()
  } catch (err) {
    log('could not release WebRTC threads: %e', err)
  }
}

/** No STUN/TURN servers of its own (public ones are unreachable offline, and each costs a second per dial; the relays' are added); ICE bound as PARLEY_WEBRTC_BIND says. */
function defaultRtcConfiguration (): RTCConfiguration {
  const bind = process.env.PARLEY_WEBRTC_BIND
  return (bind === undefined || bind === '' ? { iceServers: [] } : { iceServers: [], bindAddress: bind }) as RTCConfiguration
}
