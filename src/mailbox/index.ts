/**
 * Mail for agents that are offline (protocols/mailbox): relays keep sealed
 * envelopes for the agents whose handle records name them, hand them to the
 * recipient alone, and delete them once acknowledged.
 *
 * @packageDocumentation
 */
export * from './constants.js'
export * from './errors.js'
export * from './wire.js'
export * from './client.js'
export * from './outbox.js'
export * from './store.js'
export * from './server.js'
