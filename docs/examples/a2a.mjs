// @ts-check
// A2A over the mesh, with the official A2A SDK unmodified: a counting agent serves A2A under
// @counter-desk (the SDK's DefaultRequestHandler behind its JSON-RPC handler); a client made by
// the SDK's ClientFactory from the agent's card streams a task's updates, in order, by handle.
// Needs the SDK beside parley-mesh: npm install @a2a-js/sdk
//   PARLEY_RELAY=$(head -1 .parley/relay/multiaddrs) node a2a.mjs
import { createAgent, serveA2A, ParleyA2ATransportFactory, A2A_PARLEY_BINDING } from 'parley-mesh'
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, JsonRpcTransportHandler, ServerCallContext } from '@a2a-js/sdk/server'
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client'
import { Role, TaskState } from '@a2a-js/sdk'

const relay = process.env.PARLEY_RELAY // e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…
if (relay === undefined) throw new Error('set PARLEY_RELAY to a relay address (npm start prints it)')

/** @type {import('@a2a-js/sdk').AgentCard} */
const card = {
  name: 'counter', description: 'Counts to three', version: '1.0.0',
  supportedInterfaces: [{ url: 'parley:@counter-desk', protocolBinding: A2A_PARLEY_BINDING, tenant: '', protocolVersion: '1.0' }],
  provider: undefined, capabilities: { streaming: true, pushNotifications: false, extensions: [] },
  securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain'],
  skills: [{ id: 'count', name: 'count', description: 'counts', tags: ['numbers'], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }],
  signatures: []
}

// the server: any A2A agent executor, behind the SDK's request handler
const desk = await createAgent({ handle: 'counter-desk', dataDir: '.parley/counter-desk', relays: [relay] })
const requests = new DefaultRequestHandler(card, new InMemoryTaskStore(), {
  async execute (ctx, bus) {
    const ids = { taskId: ctx.taskId, contextId: ctx.contextId, metadata: undefined }
    bus.publish(AgentEvent.task({ id: ctx.taskId, contextId: ctx.contextId, status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: undefined }, artifacts: [], history: [], metadata: undefined }))
    for (const n of ['one', 'two', 'three']) {
      bus.publish(AgentEvent.artifactUpdate({ ...ids, append: n !== 'one', lastChunk: n === 'three', artifact: { artifactId: 'count', name: 'count', description: '', parts: [{ content: { $case: 'text', value: n }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [] } }))
    }
    bus.publish(AgentEvent.statusUpdate({ ...ids, status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: undefined } }))
    bus.finished()
  },
  async cancelTask () {}
})
serveA2A(desk, { handler: new JsonRpcTransportHandler(requests), context: ({ version }) => new ServerCallContext({ requestedVersion: version }) })
await desk.start()

// the client: the SDK's ClientFactory with the Parley transport, from the card
const assistant = await createAgent({ handle: 'alices-a2a-host', dataDir: '.parley/alices-a2a-host', relays: [relay] })
await assistant.start()
const factory = new ClientFactory({ transports: [new ParleyA2ATransportFactory(assistant, (fetchImpl) => new JsonRpcTransportFactory({ fetchImpl }))] })
const client = await factory.createFromAgentCard(card)
const counted = []
for await (const event of client.sendMessageStream({
  tenant: '',
  message: { messageId: crypto.randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER, parts: [{ content: { $case: 'text', value: 'count' }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [], referenceTaskIds: [] },
  configuration: undefined,
  metadata: undefined
})) {
  const part = event.payload?.$case === 'artifactUpdate' ? event.payload.value.artifact?.parts[0]?.content : undefined
  if (part?.$case === 'text') counted.push(part.value)
}
console.log(counted) // [ 'one', 'two', 'three' ]

await assistant.close()
await desk.close()
