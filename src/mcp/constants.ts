/** The MCP binding's names (protocols/mcp). */

/** Every MCP method travels as a Parley method in this namespace: `tools/call` is `mcp/tools/call`. */
export const MCP_NAMESPACE = 'mcp/'

/** The handler key that serves the whole namespace on an agent. */
export const MCP_HANDLER = 'mcp/*'

/** An MCP tool call: the policy classes it by tool (`mcp/tools/call:<name>`). */
export const MCP_TOOL_CALL = 'mcp/tools/call'

/**
 * MCP methods that read or describe and never act: `routine` in the default
 * policy (any caller, no approval). `mcp/notifications/…` are routine too.
 * Everything else (`tools/call`, `resources/read`, `prompts/get`, …) is
 * classed as the node's policy says (in an agent, a method it serves and its
 * policy does not class is routine: class binding tools `action`).
 */
export const MCP_ROUTINE_METHODS = Object.freeze([
  'mcp/initialize',
  'mcp/ping',
  'mcp/tools/list',
  'mcp/resources/list',
  'mcp/resources/templates/list',
  'mcp/prompts/list',
  'mcp/completion/complete',
  'mcp/logging/setLevel'
] as const)

/** The prefix of MCP notifications (progress, cancelled, initialized, list changes): routine. */
export const MCP_NOTIFICATIONS = 'mcp/notifications/'

/** How often a client transport reports progress while the far side's human decides on a held call. */
export const HELD_PROGRESS_INTERVAL_MS = 10_000

/** An MCP result whose JSON is longer than this travels as a blob (protocols/blob), its reference in the response. */
export const MCP_INLINE_RESULT_BYTES = 128 * 1024

/** The one member of a response whose result travels as a blob: `{ "parley/blob": { blob, bytes, sha256 } }`. */
export const MCP_BLOB_RESULT = 'parley/blob'

/** Default cap on a result pulled as a blob. */
export const DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024

/** How long a request may wait for its answer, held approvals apart (the MCP SDK keeps its own, shorter, timeouts). */
export const MCP_REQUEST_TIMEOUT_MS = 10 * 60_000
