/**
 * Node's `crypto` module, for the code that is faster on OpenSSL (SHA-256,
 * Ed25519). This is the module `#node-crypto` names everywhere but in
 * browsers (package.json `imports`, condition `default`); browser bundles get
 * `node-crypto-browser.ts` instead, so no `node:` import reaches them.
 */
import * as crypto from 'node:crypto'

/** Node's `crypto`; typed as possibly absent because the browser variant has none. */
export const nodeCrypto: typeof crypto | undefined = crypto
