/**
 * The browser variant of `#node-crypto` (package.json `imports`, condition
 * `browser`): there is no Node `crypto`, so callers use WebCrypto and
 * `@noble/*` instead. Nothing here imports a `node:` module.
 */
import type * as crypto from 'node:crypto'

/** Always `undefined` in a browser. */
export const nodeCrypto: typeof crypto | undefined = undefined
