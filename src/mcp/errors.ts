/** Errors of the MCP binding (protocols/mcp §5). */
import { ParleyError } from '../errors.js'

/** Every reason the MCP binding refuses a message or an operation. */
export const McpBindingErrorCode = {
  /** A message that is not a JSON-RPC request, notification or response MCP could send, or a method outside the `mcp/` namespace. */
  INVALID_MESSAGE: 'ERR_MCP_INVALID_MESSAGE',
  /** The session (or the transport) is closed. */
  SESSION_CLOSED: 'ERR_MCP_SESSION_CLOSED',
  /** A response to a request the far side never sent (or already answered). */
  UNKNOWN_REQUEST: 'ERR_MCP_UNKNOWN_REQUEST',
  /** A second transport on a session that carries MCP already. */
  ALREADY_ATTACHED: 'ERR_MCP_ALREADY_ATTACHED'
} as const
export type McpBindingErrorCode = typeof McpBindingErrorCode[keyof typeof McpBindingErrorCode]

/** The MCP binding refused a message or an operation; `code` says why. */
export class McpBindingError extends ParleyError<McpBindingErrorCode> {
  static override readonly name = 'McpBindingError'
}
