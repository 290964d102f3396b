/**
 * Signed JSON-RPC 2.0 envelopes: sign, verify, seal, and guard against replay.
 * The normative spec is `protocols/envelope/README.md`.
 *
 * @packageDocumentation
 */
export * from './constants.js'
export * from './envelope.js'
export * from './jsonrpc.js'
export * from './replay-guard.js'
export * from './sealed.js'
