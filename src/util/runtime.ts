/**
 * The runtime check every public entry point runs first, on import: Parley
 * needs Node.js 22 or newer (libp2p 3 and its dependencies use
 * `Promise.withResolvers` and other Node 22 APIs). An older Node fails here
 * with one clear {@link AgentError} (`ERR_UNSUPPORTED_RUNTIME`) instead of a
 * `TypeError` from deep inside a dependency once the node starts. Browsers
 * (no `process.versions.node`) pass.
 */
import { AgentError, AgentErrorCode } from '../errors.js'

/** The oldest Node.js major version Parley runs on. */
export const MIN_NODE_MAJOR = 22

/** Throws `ERR_UNSUPPORTED_RUNTIME` when `nodeVersion` (default: this process's) is older than {@link MIN_NODE_MAJOR}. */
export function checkRuntime (nodeVersion: string | undefined = globalThis.process?.versions?.node): void {
  if (nodeVersion === undefined) return
  const major = Number(nodeVersion.split('.')[0])
  if (Number.isInteger(major) && major < MIN_NODE_MAJOR) {
    throw new AgentError(AgentErrorCode.UNSUPPORTED_RUNTIME,
      `parley-mesh needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${nodeVersion}. Install Node.js ${MIN_NODE_MAJOR}+ (or run with npx -p node@${MIN_NODE_MAJOR} node app.js)`)
  }
}

checkRuntime()
