/**
 * Signed JSON-RPC 2.0 envelopes: sign, verify, seal, and guard against replay.
 * The normative spec is `protocols/envelope/README.md`.
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export { EnvelopeError, EnvelopeErrorCode, ParleyError } from '../errors.js'
export * from './constants.js'
export * from './envelope.js'
export * from './jsonrpc.js'
export * from './replay-guard.js'
export * from './sealed.js'
