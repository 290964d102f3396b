/**
 * Parley: a peer-to-peer mesh for AI agents on js-libp2p.
 *
 * This entry point re-exports the public API except the dashboard, presence
 * and demo; the subpath exports (`parley-mesh/agent`, `/identity`,
 * `/envelope`, `/handles`, `/crypto`, `/negotiation`, `/store`, `/dashboard`,
 * `/presence`, `/demo`) give the pieces one area at a time.
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
import './util/runtime.js' // first: a clear error on Node.js older than 22
export * from './errors.js'
export * from './crypto/index.js'
export * from './identity/index.js'
export * from './envelope/index.js'
export * from './handles/index.js'
export * from './negotiation/index.js'
export * from './agent/index.js'
export * from './methods/index.js'
export * from './store/index.js'
export * from './mcp/index.js'
export * from './a2a/index.js'
