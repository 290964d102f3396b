/**
 * The agent node in a browser tab: the same agent as in Node (the Parley
 * service on a libp2p node), over the transports a tab has — WebSockets to
 * relays, circuit relay, WebRTC — with its key and stores in IndexedDB
 * (`dataDir` names the database) or in memory without one. Bundlers pick
 * this module through the package's `browser` export condition.
 *
 * libp2p's browser connection gater stays on: it refuses to dial private
 * addresses and plain `/ws`, so a production relay needs a public `wss`
 * address (relay/README.md). Tests on loopback set `dialPrivateAddresses`.
 *
 * @example
 * ```ts
 * import { createAgent } from 'parley-mesh'
 *
 * const tab = await createAgent({ handle: 'tab-alice', dataDir: 'parley', relays: ['/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooW…'] })
 * await tab.start()
 * const session = await tab.connect('@rapidplumb')
 * ```
 *
 * @packageDocumentation
 */
import { IDBDatastore } from 'datastore-idb'
import { browserNoiseCrypto } from '../crypto/noise.js'
import { browserWebSockets } from './websockets-browser.js'
import { createIdentity } from '../identity/identity.js'
import { loadOrCreateBrowserIdentity } from '../identity/idb-store.js'
import { AgentError, AgentErrorCode } from '../errors.js'
import { connectionGater } from '../util/gater.js'
import { browserAudioLeg } from '../media/browser-leg.js'
import { Agent, assembleAgent, memoryStores } from './assembly.js'
import type { AgentPlatform, AgentStores } from './assembly.js'
import type { AgentOptions } from './options.js'

export { Agent }
export type { AgentOptions }

/**
 * Creates an agent in this tab (not started: call {@link Agent.start}). The
 * options are those of Node's `createAgent`; `dataDir` is the name of the
 * IndexedDB database that keeps its key and stores across reloads.
 */
export async function createAgent (options: AgentOptions): Promise<Agent> {
  return assembleAgent(options, BROWSER)
}

/** The browser: no TCP, IndexedDB for keys and stores, libp2p's browser gater. */
export const BROWSER: AgentPlatform = {
  name: 'browser',
  // the key is a non-extractable WebCrypto key where the browser has Ed25519 (docs/security.md)
  identity: async (o) => o.dataDir === undefined
    ? createIdentity({ kind: o.kind ?? 'agent' })
    : loadOrCreateBrowserIdentity({ name: `${o.dataDir}/identity`, kind: o.kind ?? 'agent' }),
  saveIdentity: async (o) => {
    if (o.dataDir !== undefined) throw new AgentError(AgentErrorCode.INVALID_OPTIONS, 'rotating the key of a browser agent kept in IndexedDB is not supported yet: its key cannot be replaced in place')
  },
  stores: openBrowserStores,
  transports: () => [browserWebSockets()],
  gater: (o) => o.dialPrivateAddresses === true ? { denyDialMultiaddr: () => false } : connectionGater({ browser: true }),
  rtcConfiguration: () => ({ iceServers: [] }),
  noiseCrypto: () => browserNoiseCrypto,
  // a human in the tab joins sessions by voice: the microphone, the browser's own RTCPeerConnection
  audioLeg: browserAudioLeg
}

/** An IndexedDB datastore named `<dataDir>/datastore` (the replay guard kept in it), or memory. */
async function openBrowserStores (o: AgentOptions): Promise<AgentStores> {
  if (o.dataDir === undefined) return memoryStores()
  const datastore = new IDBDatastore(`${o.dataDir}/datastore`)
  try {
    await datastore.open()
  } catch (err) {
    throw new AgentError(AgentErrorCode.DATA_DIR_UNAVAILABLE, `cannot open the IndexedDB database ${o.dataDir}/datastore: ${(err as Error).message}`, { cause: err })
  }
  return { datastore, close: async () => { await datastore.close() } }
}
