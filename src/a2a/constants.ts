/** The A2A binding's names (protocols/a2a). */

/** Every A2A JSON-RPC method travels as a Parley method in this namespace: `SendMessage` is `a2a/SendMessage`. */
export const A2A_NAMESPACE = 'a2a/'

/** The handler key that serves the namespace. */
export const A2A_HANDLER = 'a2a/*'

/** The notification that carries one event of a streaming call, in order. */
export const A2A_STREAM_EVENT = 'a2a/stream'

/** The binding's name in an Agent Card's `supportedInterfaces[].protocolBinding`, and the SDK transport factory's `protocolName`. */
export const A2A_PARLEY_BINDING = 'https://parley.dev/protocols/a2a/v1'

/** The URL scheme of a Parley interface: `parley:@handle` (or `parley:<peer id>`). */
export const A2A_URL_SCHEME = 'parley:'

/** A2A methods whose answer is a stream of events (v1.0 and v0.3 names). */
export const A2A_STREAMING_METHODS: ReadonlySet<string> = new Set(['SendStreamingMessage', 'SubscribeToTask', 'message/stream', 'tasks/resubscribe'])

/** How long a call may wait for its answer (a task may run long; the stream's events keep arriving meanwhile). */
export const A2A_REQUEST_TIMEOUT_MS = 10 * 60_000
