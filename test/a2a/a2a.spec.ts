/**
 * A2A over Parley (protocols/a2a) with `@a2a-js/sdk`, unmodified: a client
 * made by the SDK's `ClientFactory` from an Agent Card whose interface is
 * the Parley binding sends a message, streams a task's updates (in order),
 * gets the task, and is refused what the server's policy forbids; the
 * server is the SDK's `DefaultRequestHandler` behind its JSON-RPC handler.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client'
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, JsonRpcTransportHandler, ServerCallContext } from '@a2a-js/sdk/server'
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server'
import type { AgentExecutor, ExecutionEventBus, RequestContext } from '@a2a-js/sdk/server'
import { Role, TaskState } from '@a2a-js/sdk'
import type { AgentCard } from '@a2a-js/sdk'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { A2A_PARLEY_BINDING, ParleyA2ATransportFactory, a2aCall, a2aStreamEvent, a2aTarget, serveA2A } from '../../src/a2a/index.js'
import type { JsonValue } from '../../src/crypto/canonical-json.js'
import vectors from '../../protocols/a2a/vectors.json' with { type: 'json' }

const BITS = 8
const UPDATES = 20

/** Works a task: submitted, working, UPDATES artifact chunks, completed. */
class CountingExecutor implements AgentExecutor {
  callers: string[] = []
  async execute (ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    this.callers.push(ctx.context.user?.userName ?? '?')
    const base = { taskId: ctx.taskId, contextId: ctx.contextId, metadata: undefined }
    bus.publish(AgentEvent.task({ id: ctx.taskId, contextId: ctx.contextId, status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: undefined }, artifacts: [], history: [ctx.userMessage], metadata: undefined }))
    bus.publish(AgentEvent.statusUpdate({ ...base, status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: undefined } }))
    for (let i = 0; i < UPDATES; i++) {
      bus.publish(AgentEvent.artifactUpdate({ ...base, append: i > 0, lastChunk: i === UPDATES - 1, artifact: { artifactId: 'count', name: 'count', description: '', parts: [{ content: { $case: 'text', value: `${i}` }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [] } }))
    }
    bus.publish(AgentEvent.statusUpdate({ ...base, status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: undefined } }))
    bus.finished()
  }

  async cancelTask (): Promise<void> {}
}

describe('A2A over Parley (protocols/a2a)', function () {
  this.timeout(90_000)
  let dir: string
  let relay: RelayProcess
  let server: Agent
  let caller: Agent
  let card: AgentCard
  const executor = new CountingExecutor()
  const legacyMethods: string[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-a2a-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
    const options = { relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, rtcConfiguration: LOOPBACK_RTC }
    server = await createAgent({ ...options, handle: 'a2a-counter', policy: { classes: { 'a2a/CancelTask': 'forbidden', 'a2a/ListTasks': 'action' } } })
    caller = await createAgent({ ...options, handle: 'a2a-caller' })
    await Promise.all([server.start(), caller.start()])
    card = {
      name: 'counter', description: 'Counts to twenty, one artifact chunk at a time', version: '1.0.0',
      supportedInterfaces: [
        { url: 'parley:@a2a-counter', protocolBinding: A2A_PARLEY_BINDING, tenant: '', protocolVersion: '1.0' },
        { url: 'parley:@a2a-counter', protocolBinding: A2A_PARLEY_BINDING, tenant: '', protocolVersion: '0.3' }
      ],
      provider: undefined, capabilities: { streaming: true, pushNotifications: false, extensions: [] },
      securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain'],
      skills: [{ id: 'count', name: 'count', description: 'counts', tags: ['numbers'], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }],
      signatures: []
    }
    const requests = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor)
    const legacy = new LegacyJsonRpcTransportHandler(requests)
    serveA2A(server, {
      handler: new JsonRpcTransportHandler(requests),
      legacy: { handle: async (body, context) => { legacyMethods.push(String(body.method)); return legacy.handle(body, context) } },
      // the verified caller as the SDK's user
      context: ({ caller: who, version }) => new ServerCallContext({ requestedVersion: version, user: { isAuthenticated: who.kind !== 'anon', userName: who.handle === undefined ? who.peer : `@${who.handle}` } })
    })
  })

  after(async () => {
    for (const a of [caller, server]) await a?.close().catch(() => {})
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  function client (version = '1.0'): ReturnType<ClientFactory['createFromAgentCard']> {
    const factory = new ClientFactory({ transports: [new ParleyA2ATransportFactory(caller, (fetchImpl) => new JsonRpcTransportFactory({ fetchImpl, legacyCompat: { enabled: true } }))] })
    return factory.createFromAgentCard({ ...card, supportedInterfaces: card.supportedInterfaces.filter(i => i.protocolVersion === version) })
  }

  const message = (text: string): { tenant: string, message: { messageId: string, contextId: string, taskId: string, role: Role, parts: Array<{ content: { $case: 'text', value: string }, metadata: undefined, filename: string, mediaType: string }>, metadata: undefined, extensions: string[], referenceTaskIds: string[] }, configuration: undefined, metadata: undefined } => ({
    tenant: '',
    message: { messageId: crypto.randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER, parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [], referenceTaskIds: [] },
    configuration: undefined,
    metadata: undefined
  })

  describe('vectors', () => {
    for (const v of vectors.urls) {
      it(`url ${v.url}`, () => {
        if (v.target === null) expect(() => a2aTarget(v.url)).to.throw(TypeError)
        else expect(a2aTarget(v.url)).to.equal(v.target)
      })
    }
    for (const v of vectors.calls) {
      it(`call: ${v.name}`, () => { expect(a2aCall(v.method, v.params as JsonValue, v.stream ?? undefined)).to.deep.equal(v.parley) })
    }
    it('a streaming call without a stream is refused', () => { expect(() => a2aCall('SendStreamingMessage', {})).to.throw(TypeError) })
    for (const v of vectors.events) {
      it(`stream event ${v.seq}`, () => { expect(a2aStreamEvent(v.stream, v.seq, v.event as JsonValue)).to.deep.equal(v.params) })
    }
  })

  it('an SDK client sends a message and gets the finished task; the server saw the verified caller', async () => {
    const c = await client()
    const result = await c.sendMessage(message('count, please'))
    const task = result as { id: string, status?: { state: TaskState }, artifacts: unknown[] }
    expect(task.status?.state).to.equal(TaskState.TASK_STATE_COMPLETED)
    expect(executor.callers.at(-1)).to.equal('@a2a-caller')
    const again = await c.getTask({ tenant: '', id: task.id, historyLength: undefined })
    expect(again.id).to.equal(task.id)
    expect(again.status?.state).to.equal(TaskState.TASK_STATE_COMPLETED)
  })

  it('streams a task\'s updates in order', async () => {
    const c = await client()
    const kinds: string[] = []
    const counted: string[] = []
    for await (const event of c.sendMessageStream(message('count, streaming'))) {
      const payload = event.payload
      if (payload === undefined) continue
      kinds.push(payload.$case)
      if (payload.$case === 'artifactUpdate') {
        const part = payload.value.artifact?.parts[0]?.content
        counted.push(part?.$case === 'text' ? part.value : '?')
      }
    }
    expect(kinds[0]).to.equal('task')
    expect(counted).to.deep.equal(Array.from({ length: UPDATES }, (_, i) => `${i}`))
    expect(kinds.at(-1)).to.equal('statusUpdate')
  })

  it('a v0.3 client (the SDK\'s legacy transport: message/stream, tasks/get) is served too, in order', async () => {
    const c = await client('0.3')
    const counted: string[] = []
    let taskId = ''
    for await (const event of c.sendMessageStream(message('count, the old way'))) {
      const payload = event.payload
      if (payload?.$case === 'task') taskId = payload.value.id
      if (payload?.$case === 'artifactUpdate') {
        const part = payload.value.artifact?.parts[0]?.content
        counted.push(part?.$case === 'text' ? part.value : '?')
      }
    }
    expect(counted).to.deep.equal(Array.from({ length: UPDATES }, (_, i) => `${i}`))
    expect((await c.getTask({ tenant: '', id: taskId, historyLength: undefined })).status?.state).to.equal(TaskState.TASK_STATE_COMPLETED)
    expect(legacyMethods).to.deep.equal(['message/stream', 'tasks/get'])
  })

  it('a call the server\'s policy holds waits for its human, then answers', async () => {
    const c = await client()
    const pending = new Promise<string>(resolve => { server.addEventListener('pending', (e) => { resolve(e.detail.id) }, { once: true }) })
    const listed = c.listTasks({ tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 10, pageToken: '', historyLength: undefined, statusTimestampAfter: undefined, includeArtifacts: false } as never)
    await server.approve(await pending)
    const { tasks } = await listed
    expect(tasks.length, 'the tasks the earlier tests made').to.be.at.least(3)
  })

  it('a method the server\'s policy forbids is refused with its code', async () => {
    const c = await client()
    try {
      await c.cancelTask({ tenant: '', id: 'any', metadata: undefined })
      expect.fail('cancel went through')
    } catch (err) {
      expect(String((err as Error).message)).to.match(/refused by policy|ERR_POLICY_REFUSED|-32003/)
    }
  })
})
