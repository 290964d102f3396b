/** Agent-to-agent scenarios: research with a confidence, delegation down a chain and back, a sensor read twice. */
import { uptime, loadavg } from 'node:os'
import { delegateParams, infoRequestParams } from '../../methods/index.js'
import type { DelegateResult } from '../../methods/index.js'
import { RpcError } from '../../session/session.js'
import type { Scenario } from '../scenario.js'

export const research: Scenario = {
  name: 'research',
  summary: 'a researcher asks a specialist, gets structured data with a confidence, and puts it in a report',
  async run (ctx) {
    const { mesh, say } = ctx
    const researcher = await mesh.agent({ handle: 'lab-researcher' })
    const specialist = await mesh.agent({ handle: 'heat-pump-analyst' })
    specialist.handle('info/request', (params) => {
      const { topic, fields } = infoRequestParams(params)
      const all: Record<string, number> = { installs2024: 98_000, growthRate: 0.23, medianCostGBP: 12_500 }
      const data = Object.fromEntries(Object.entries(all).filter(([k]) => fields === undefined || fields.includes(k)))
      return { topic, data, confidence: 0.8, source: 'installer registry extract, Q3 2026', asOf: Date.UTC(2026, 8, 30) }
    })
    const session = await researcher.connect('@heat-pump-analyst')
    const answer = await session.request('info/request', { topic: 'uk-heat-pump-market', fields: ['installs2024', 'growthRate'] }) as { data: { installs2024: number, growthRate: number }, confidence: number, source: string }
    const report = [
      '# UK heat pumps: a short note',
      `Installations in 2024: ${answer.data.installs2024.toLocaleString('en-GB')}, growing ${(answer.data.growthRate * 100).toFixed(0)}% a year`,
      `(source: @heat-pump-analyst, ${answer.source}; confidence ${answer.confidence}, signed envelope verified)`
    ].join('\n')
    say('report written:\n' + report)
    return { facts: report.split('\n'), answer, report }
  }
}

export const delegation: Scenario = {
  name: 'delegation',
  summary: 'manager → coordinator → worker and back, each hop a signed request',
  async run (ctx) {
    const { mesh, say } = ctx
    const manager = await mesh.agent({ handle: 'manager' })
    const coordinator = await mesh.agent({ handle: 'coordinator' })
    const worker = await mesh.agent({ handle: 'worker' })
    const refuseLoops = (chain: string[], self: string): void => {
      if (chain.includes(self)) throw new RpcError(-32602, `invalid params: task already passed through @${self}`)
    }
    coordinator.handle('task/delegate', async (params) => {
      const p = delegateParams(params)
      const chain = p.chain ?? []
      refuseLoops(chain, 'coordinator')
      say(`@coordinator hands "${p.task}" on to @worker`)
      const s = await coordinator.connect('@worker')
      return await s.request('task/delegate', { ...p, chain: [...chain, 'coordinator'] })
    })
    worker.handle('task/delegate', (params) => {
      const p = delegateParams(params)
      const chain = p.chain ?? []
      refuseLoops(chain, 'worker')
      const text = String(p.input ?? '')
      const words = text.split(/\s+/).filter(w => w.length > 0)
      return { task: p.task, output: { words: words.length, longest: words.reduce((a, b) => b.length > a.length ? b : a, '') }, by: 'worker', chain: [...chain, 'worker'] }
    })
    const s = await manager.connect('@coordinator')
    const result = await s.request('task/delegate', { task: 'word-count', input: 'Parley lets agents reach each other directly by handle and prove who they are', chain: ['manager'] }) as unknown as DelegateResult
    say(`@manager gets the result back through ${result.chain.join(' → ')}: ${JSON.stringify(result.output)}`)
    return { facts: [`chain ${result.chain.join(' → ')}`, `output ${JSON.stringify(result.output)} by @${result.by}`], result }
  }
}

export const sensor: Scenario = {
  name: 'sensor',
  summary: 'two readings of a sensor agent, two seconds apart, with different timestamps and values',
  async run (ctx) {
    const { mesh, say } = ctx
    const probe = await mesh.agent({ handle: 'host-sensor' })
    const monitor = await mesh.agent({ handle: 'monitor' })
    probe.handle('info/request', (params) => {
      const { topic } = infoRequestParams(params)
      // real readings of this machine: seconds up, and the 1-minute load average
      return { topic, data: { uptimeSeconds: uptime(), load1: loadavg()[0] ?? 0 }, asOf: Date.now(), source: 'os.uptime(), os.loadavg()' }
    })
    const session = await monitor.connect('@host-sensor')
    type Reading = { data: { uptimeSeconds: number, load1: number }, asOf: number }
    const first = await session.request('info/request', { topic: 'host' }) as Reading
    await new Promise(resolve => setTimeout(resolve, 2000))
    const second = await session.request('info/request', { topic: 'host' }) as Reading
    say(`readings ${second.asOf - first.asOf} ms apart: uptime ${first.data.uptimeSeconds} s → ${second.data.uptimeSeconds} s`)
    return {
      facts: [`${new Date(first.asOf).toISOString()}: ${JSON.stringify(first.data)}`, `${new Date(second.asOf).toISOString()}: ${JSON.stringify(second.data)}`],
      readings: [first, second]
    }
  }
}

export const agentScenarios: Scenario[] = [research, delegation, sensor]
