/**
 * Parley: a peer-to-peer mesh for AI agents on js-libp2p.
 *
 * This entry point re-exports the public API; the subpath exports
 * (`parley-mesh/identity`, `/envelope`, `/handles`, `/crypto`, `/negotiation`) give the same
 * (`parley-mesh/identity`, `/envelope`, `/handles`, `/crypto`, `/store`) give the same
 * pieces one area at a time.
 *
 * @example
 * ```ts
 * import { createIdentity, signEnvelope, verifyEnvelope } from 'parley-mesh'
 * const me = await createIdentity({ kind: 'agent' })
 * const { bytes } = await signEnvelope(me, { to: { handle: 'bob' }, body: { jsonrpc: '2.0', method: 'ping', id: 1 } })
 * await verifyEnvelope(bytes)
 * ```
 *
 * @packageDocumentation
 */
export * from './errors.js'
export * from './crypto/index.js'
export * from './identity/index.js'
export * from './envelope/index.js'
export * from './handles/index.js'
export * from './negotiation/index.js'
export * from './agent/index.js'
export * from './methods/index.js'
export * from './store/index.js'
