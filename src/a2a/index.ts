/**
 * A2A over Parley (protocols/a2a): the A2A SDK's JSON-RPC client and
 * server handler, unchanged, between two agents reached by handle.
 *
 * @packageDocumentation
 */
export { parleyA2AFetch, ParleyA2ATransportFactory } from './client.js'
export { a2aTarget, a2aCall, a2aStreamEvent } from './mapping.js'
export type { A2ACall, A2AStreamEventParams } from './mapping.js'
export type { A2AHost, JsonRpcTransportFactoryLike } from './client.js'
export { serveA2A } from './serve.js'
export type { A2AJsonRpcAnswer, A2AJsonRpcHandler, A2AServeHost, ServeA2AOptions } from './serve.js'
export { A2A_NAMESPACE, A2A_HANDLER, A2A_STREAM_EVENT, A2A_PARLEY_BINDING, A2A_URL_SCHEME, A2A_STREAMING_METHODS } from './constants.js'
