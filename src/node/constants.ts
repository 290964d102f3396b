/** Parley's own Kademlia protocol id: a separate DHT from the public IPFS one, with Parley's record validators. */
export const DHT_PROTOCOL = '/parley/kad/1.0.0'

/** Circuit relay v2 protocol ids (from the libp2p spec), used to count circuits and relayed bytes. */
export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
export const RELAY_STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop'

/** Where kad-dht keeps records in the datastore (its default prefix plus `/record`). */
export const DHT_RECORD_PREFIX = '/dht/record'
