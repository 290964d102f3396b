/** The agent's error helpers: the errors it throws in more than one place, and how it quotes a cause. */
import { AgentError, AgentErrorCode } from '../errors.js'

/** `ERR_NOT_STARTED`: something that needs the running node was asked for before `start()` or after `stop()`. */
export function notStarted (): AgentError {
  return new AgentError(AgentErrorCode.NOT_STARTED, 'the agent is not started: await agent.start() first')
}

/** The first line of an error's message. */
export function oneLine (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.split('\n')[0] ?? text
}
