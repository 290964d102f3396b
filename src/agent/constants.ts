/**
 * The agent's defaults: timeouts and limits of the Parley service
 * (`parley()`), in one place.
 */

/** How long `connect()` may take by default, end to end (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000
/** How long one dial of a peer (through one relay), or of a relay, may take (ms). */
export const DIAL_TIMEOUT_MS = 10_000
/** How long a WebRTC upgrade attempt may take by default (ms). */
export const DEFAULT_UPGRADE_TIMEOUT_MS = 10_000
/** How long `start()` waits for a relay to grant a reservation (ms). */
export const RESERVATION_TIMEOUT_MS = 15_000
/** How often finished approvals and negotiations past their keeping time are deleted (ms). */
export const PRUNE_INTERVAL_MS = 60 * 60 * 1000
/** Sessions a peer may have open with us at once, across its connections, by default. */
export const DEFAULT_MAX_SESSIONS_PER_PEER = 8
/** Payload pulls (protocols/blob) one connection may have open at once. */
export const MAX_BLOB_PULLS_PER_CONNECTION = 8
/** How long asking the connected relays for a handle record may take before the DHT query instead (ms). */
export const DIRECT_GET_TIMEOUT_MS = 2_000
/** How long a DHT put of our handle record may take (ms). */
export const PUBLISH_TIMEOUT_MS = 15_000
/** How long publishing or looking up an Agent Card may take. */
export const CARD_PUBLISH_TIMEOUT_MS = 15_000
/** The libp2p service names the Parley service looks up among the node's services by default. */
export const DEFAULT_DHT_SERVICE = 'dht'
export const DEFAULT_PUBSUB_SERVICE = 'pubsub'

/**
 * New inbound connections a second libp2p accepts from one IP address
 * (its `inboundConnectionThreshold`, 5 by default). Everything relayed to an
 * agent arrives from its relay's IP, so the default let all its callers
 * together open five sessions a second, and a refused circuit left its caller
 * waiting for its Noise handshake to time out. The relay bounds circuits per
 * destination; the agent bounds sessions and frames per peer.
 */
export const INBOUND_CONNECTIONS_PER_SECOND_PER_HOST = 100
/** Inbound connections being upgraded at once (libp2p's `maxIncomingPendingConnections`, 10 by default): relayed callers share it too. */
export const MAX_INCOMING_PENDING_CONNECTIONS = 64
