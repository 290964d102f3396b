/**
 * The connection gater a Parley node dials with: libp2p's own default for the
 * platform, with one explicit way to relax it for tests on one machine.
 *
 * libp2p's default gater differs by platform. In Node it allows everything.
 * In a browser it refuses to dial insecure WebSockets (`/ws`: a page on
 * `https://` may not open `ws://` to another host, and the browser prints a
 * mixed-content error for every try) and private addresses (a page has no
 * business probing the visitor's LAN, and such dials only fail slowly). A
 * node that passes its own `connectionGater` replaces that default, so
 * {@link connectionGater} rebuilds it rather than allowing all.
 *
 * Tests run a relay on `127.0.0.1` with plain `/ws`, which the browser rules
 * refuse. `insecureLoopback: true` lets such a node dial loopback addresses
 * (`127.0.0.0/8`, `::1`, `localhost`), `/ws` included, and nothing else
 * beyond the production rules: a page on a real site cannot reach a relay
 * on the visitor's own machine by accident, since the option is off unless
 * set. Browsers treat loopback as a secure origin, so `ws://127.0.0.1` from
 * a test page is allowed by the browser itself.
 *
 * ```ts
 * createLibp2p({ connectionGater: connectionGater(), ... })                          // production
 * createLibp2p({ connectionGater: connectionGater({ insecureLoopback: true }), ... }) // tests on loopback
 * ```
 *
 * @packageDocumentation
 */
import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { getNetConfig, isPrivate } from '@libp2p/utils'
import { WebSockets } from '@multiformats/multiaddr-matcher'

/** Options of {@link connectionGater}. */
export interface ConnectionGaterOptions {
  /**
   * Apply the browser rules: refuse to dial insecure `/ws` and private addresses. Default: true
   * in a browser (no `process.versions.node`), false in Node, as libp2p itself does.
   */
  browser?: boolean
  /**
   * For tests on one machine only: also allow dialing loopback addresses (`127.0.0.0/8`, `::1`,
   * `localhost`), insecure `/ws` included. Default false; never set it in production.
   */
  insecureLoopback?: boolean
}

/** True when `addr` starts with a loopback host: `127.0.0.0/8`, `::1` or the name `localhost`. */
export function isLoopback (addr: Multiaddr): boolean {
  let host: string
  let type: string
  try {
    ({ host, type } = getNetConfig(addr))
  } catch {
    return false
  }
  if (type === 'ip4') return host.startsWith('127.')
  if (type === 'ip6') return host === '::1' || host === '0:0:0:0:0:0:0:1'
  return host === 'localhost' || host.endsWith('.localhost')
}

/** Whether this code runs outside Node (a browser page or worker). */
function inBrowser (): boolean {
  return (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === undefined
}

/**
 * libp2p's default connection gater for the platform (browser rules: no
 * insecure `/ws`, no private addresses), optionally relaxed for loopback in
 * tests; see the module comment.
 */
export function connectionGater (options: ConnectionGaterOptions = {}): ConnectionGater {
  const browser = options.browser ?? inBrowser()
  if (!browser) return {}
  const insecureLoopback = options.insecureLoopback === true
  return {
    denyDialMultiaddr: (addr: Multiaddr): boolean => {
      if (insecureLoopback && isLoopback(addr)) return false
      return WebSockets.matches(addr) || isPrivate(addr)
    }
  }
}
