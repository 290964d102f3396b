/**
 * Parley identities: Ed25519 key pair, libp2p peer id, derived X25519 key and
 * the `identity.json` key file; the details are in `identity.ts`.
 *
 * @example
 * ```ts
 * import { loadOrCreateIdentity } from 'parley-mesh/identity'
 * const me = await loadOrCreateIdentity({ dataDir: '/home/me/.parley', kind: 'agent' })
 * console.log(me.peerIdString)
 * ```
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export { IdentityError, IdentityErrorCode, ParleyError } from '../errors.js'
export {
  Identity,
  IDENTITY_FILE,
  IDENTITY_KINDS,
  isIdentityKind,
  createIdentity,
  saveIdentity,
  loadIdentity,
  loadOrCreateIdentity
} from './identity.js'
export type {
  IdentityKind,
  CreateIdentityOptions,
  SaveIdentityOptions,
  LoadIdentityOptions,
  LoadOrCreateIdentityOptions
} from './identity.js'
