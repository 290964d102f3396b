/**
 * The dev dashboard: its data contract, the HTTP server that serves the page
 * and its API from any {@link DashboardSource}, the relay's and the agent's
 * sources (with the graph builder they share), and an agent's local control
 * API ({@link agentEndpoint} mounts it with the dashboard on one router).
 *
 * @example
 * ```ts
 * import { DashboardServer, Router, startHttp } from 'parley-mesh/dashboard'
 * import type { DashboardSource } from 'parley-mesh/dashboard'
 * declare const source: DashboardSource // relaySource(relay), agentSource(agent), or your own
 *
 * const dashboard = new DashboardServer({ source })
 * const http = await startHttp('127.0.0.1', 9091, dashboard.mount(new Router()))
 * console.log(dashboard.url(http.url))
 * ```
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export * from './types.js'
export { DashboardServer, dashboardToken, DEFAULT_ASSETS_DIR } from './server.js'
export type { DashboardServerOptions } from './server.js'
export { relaySource } from './relay-source.js'
export type { RelayNode, RelayServices } from '../node/relay.js'
export type { StunServer } from '../node/stun.js'
export type { RelayLimits } from '../node/relay-limits.js'
export type { CircuitTracker, Circuit, CircuitTrackerComponents } from '../node/circuits.js'
export type { HandleStore, HandleStoreOptions, StoredHandle } from '../node/handle-store.js'
export type { Tally } from '../util/tally.js'
export { agentSource, messageView } from './agent-source.js'
export type { AgentDashboardSource, AgentSourceOptions } from './agent-source.js'
export { agentEndpoint, controlRoutes } from './control.js'
export { MeshBuilder, RelayKinds, presenceCounts } from './mesh.js'
export type { RecordInfo } from './mesh.js'
export { Router, startHttp } from '../node/http.js'
export type { HttpEndpoint, Method, Route, RouteMatch } from '../node/http.js'
export { transportOf, connectionSummary } from '../util/transport.js'
