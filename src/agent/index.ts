/**
 * The agent node: `createAgent`, sessions, handle resolution.
 *
 * @packageDocumentation
 */
export { createAgent, Agent } from './agent.js'
export type { AgentOptions, AgentEvents, AgentServices } from './agent.js'
export { HandleResolver } from './resolver.js'
export { Session, RpcError, RequestTimeoutError, SessionClosedError } from '../session/session.js'
export type { Caller, Handler, HandlerContext, SessionEvents, EnvelopeRecord } from '../session/session.js'
export { SESSION_PROTOCOL } from '../session/constants.js'
