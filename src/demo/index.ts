/**
 * `parley demo`: the reference scenarios, each run on a local mesh it starts
 * itself (one relay, the agents it needs), each also an integration test.
 *
 * @example
 * ```ts
 * import { runScenario } from 'parley-mesh/demo'
 * const outcome = await runScenario('book-plumber', { print: console.log })
 * ```
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
import { startMesh } from './mesh.js'
import { Transcript } from './transcript.js'
import type { Outcome, Scenario } from './scenario.js'
import { commerceScenarios } from './scenarios/commerce.js'
import { peopleScenarios } from './scenarios/people.js'
import { agentScenarios } from './scenarios/agents.js'

export type { Outcome, Scenario, ScenarioContext } from './scenario.js'
export { startMesh } from './mesh.js'
export type { DemoMesh } from './mesh.js'
export { Transcript } from './transcript.js'

/** Every scenario, by name. */
export const SCENARIOS: readonly Scenario[] = [...commerceScenarios, ...peopleScenarios, ...agentScenarios]

/** Runs scenario `name` on a fresh local mesh; the transcript goes to `print` as it happens. */
export async function runScenario (name: string, options: { print?: (line: string) => void } = {}): Promise<Outcome & {
  /** Every line printed, and the envelope counts. */
  transcript: Transcript
}> {
  const scenario = SCENARIOS.find(s => s.name === name)
  if (scenario === undefined) throw new Error(`no scenario "${name}" (there are: ${SCENARIOS.map(s => s.name).join(', ')})`)
  const mesh = await startMesh()
  try {
    const transcript = new Transcript(options.print)
    // every agent a scenario starts is in the transcript
    const watched = { ...mesh, agent: async (o: Parameters<typeof mesh.agent>[0]) => { const a = await mesh.agent(o); transcript.watch(a); return a } }
    const outcome = await scenario.run({ mesh: watched, transcript, say: (text) => { transcript.say(text) } })
    return { ...outcome, transcript }
  } finally {
    await mesh.stop()
  }
}
