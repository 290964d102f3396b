/**
 * Parley identities: Ed25519 key pair, libp2p peer id, X25519 key, and the
 * stores that keep them: the `identity.json` key file in Node
 * (`file-store.ts`) and IndexedDB in browsers (`idb-store.ts`). The identity
 * itself is in `identity.ts`.
 *
 * This is the Node entry point. Browser bundlers get `browser.ts` instead
 * (package.json `exports`, condition `browser`): the same exports but the
 * key file's, and no `node:` module.
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
export * from './browser.js'
export {
  IDENTITY_FILE,
  saveIdentity,
  loadIdentity,
  loadOrCreateIdentity
} from './file-store.js'
export type {
  SaveIdentityOptions,
  LoadIdentityOptions,
  LoadOrCreateIdentityOptions
} from './file-store.js'
