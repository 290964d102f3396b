/**
 * The names of Parley's methods (`protocols/methods`): the vocabulary both
 * sides of a session share, apart from the param checks so that the
 * negotiation's `TRANSITION_METHOD` can be `METHODS.transition` without
 * loading them.
 */

/** Method names (protocols/methods). */
export const METHODS = Object.freeze({
  /** Liveness check; the result is `'pong'`. */
  ping: 'ping',
  /** Free text for the human behind the agent (params: `MessageParams`). */
  message: 'message',
  /** A request for information on a topic (params: `InfoRequestParams`). */
  infoRequest: 'info/request',
  /** Hands a task on to another agent (params: `DelegateParams`). */
  taskDelegate: 'task/delegate',
  /** Carries one signed negotiation transition. */
  transition: 'negotiation/transition',
  /** Notification: a transition held for the receiver's human has now been applied. */
  applied: 'negotiation/applied',
  /** Notification: the human's decision on a held request, with its result when approved. */
  outcome: 'approval/outcome'
} as const)
