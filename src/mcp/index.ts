/**
 * MCP over Parley (protocols/mcp): an unmodified MCP SDK `Client` calls the
 * tools of an unmodified SDK `Server` in another agent, reached by handle.
 *
 * @example
 * ```ts
 * import { Client } from '@modelcontextprotocol/sdk/client/index.js'
 * import { ParleyClientTransport } from 'parley-mesh'
 * import type { Agent } from 'parley-mesh'
 * declare const agent: Agent
 *
 * const client = new Client({ name: 'my-host', version: '1.0.0' })
 * await client.connect(new ParleyClientTransport(agent, await agent.connect('@weather')))
 * const result = await client.callTool({ name: 'forecast', arguments: {} })
 * ```
 *
 * @packageDocumentation
 */
export { ParleyClientTransport, ParleyServerTransport, ParleyMcpTransport, McpRouter, serveMcp } from './transport.js'
export type { McpAuthInfo, McpHost, McpMessageExtra, McpSendOptions, McpServerLike, McpTransportOptions, ParleyAuthInfo } from './transport.js'
export { toParley, fromParley, heldApproval, blobResult } from './mapping.js'
export type { CarriedMcp, McpError, McpMessage, McpNotification, McpRequest, McpRequestId, McpResult } from './mapping.js'
export { McpBindingError, McpBindingErrorCode } from './errors.js'
export { MCP_NAMESPACE, MCP_HANDLER, MCP_TOOL_CALL, MCP_ROUTINE_METHODS, MCP_NOTIFICATIONS, MCP_BLOB_RESULT, MCP_INLINE_RESULT_BYTES } from './constants.js'
