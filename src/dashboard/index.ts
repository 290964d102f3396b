/**
 * The dev dashboard: its data contract, the HTTP server that serves the page
 * and its API from any {@link DashboardSource}, and the relay's and the
 * agent's sources (with the graph builder they share).
 *
 * @example
 * ```ts
 * import { DashboardServer, Router, startHttp } from 'parley-mesh/dashboard'
 * const dashboard = new DashboardServer({ source })
 * const http = await startHttp('127.0.0.1', 9091, dashboard.mount(new Router()))
 * console.log(dashboard.url(http.url))
 * ```
 *
 * @packageDocumentation
 */
export * from './types.js'
export { DashboardServer, dashboardToken, DEFAULT_ASSETS_DIR } from './server.js'
export type { DashboardServerOptions } from './server.js'
export { relaySource } from './relay-source.js'
export { agentSource, messageView } from './agent-source.js'
export type { AgentDashboardSource, AgentSourceOptions } from './agent-source.js'
export { agentEndpoint } from '../agent/control.js'
export { MeshBuilder, RelayKinds, presenceCounts } from './mesh.js'
export type { RecordInfo } from './mesh.js'
export { Router, startHttp } from '../node/http.js'
export type { HttpEndpoint, Route, RouteMatch } from '../node/http.js'
export { transportOf, connectionSummary } from '../node/transport.js'
