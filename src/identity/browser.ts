/**
 * Parley identities in a browser: everything of `parley-mesh/identity` but
 * the key file, with the identity kept in IndexedDB
 * ({@link loadOrCreateBrowserIdentity}). Nothing on this import path is
 * Node-only; `test/browser/no-node.spec.ts` bundles it for the browser to
 * prove it. Bundlers pick this file for `parley-mesh/identity` by the
 * `browser` condition of package.json `exports`.
 *
 * @example
 * ```ts
 * import { loadOrCreateBrowserIdentity } from 'parley-mesh/identity'
 * const me = await loadOrCreateBrowserIdentity({ name: 'parley', kind: 'human' })
 * console.log(me.peerIdString) // the same after a reload
 * ```
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export { IdentityError, IdentityErrorCode, ParleyError } from '../errors.js'
export {
  Identity,
  IDENTITY_KINDS,
  isIdentityKind,
  createIdentity
} from './identity.js'
export type {
  IdentityKind,
  CreateIdentityOptions
} from './identity.js'
export {
  loadOrCreateBrowserIdentity,
  BROWSER_IDENTITY_STORE,
  BROWSER_IDENTITY_KEY
} from './idb-store.js'
export type { BrowserKeyKind, LoadOrCreateBrowserIdentityOptions } from './idb-store.js'
export { NonExtractableEd25519PrivateKey } from './webcrypto-key.js'
