import { expect } from 'chai'
import { request } from 'node:http'
import { Router, startHttp } from '../../src/node/http.js'
import type { HttpEndpoint } from '../../src/node/http.js'
import { DashboardServer, dashboardToken } from '../../src/dashboard/server.js'
import type { DashboardSource } from '../../src/dashboard/types.js'
import { SyntheticSource } from './synthetic.js'

interface Reply { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** A raw HTTP request (fetch would normalise the path and refuse to set Host). */
async function call (url: string, path: string, options: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Reply> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => { body += d }).on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Reads server-sent events from `path` for `ms`, returning the event names with their data. */
async function events (url: string, path: string, ms: number, during?: () => void): Promise<Array<{ event: string, data: string }>> {
  const controller = new AbortController()
  const res = await fetch(url + path, { signal: controller.signal })
  const out: Array<{ event: string, data: string }> = []
  const reader = res.body?.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const timer = setTimeout(() => { controller.abort() }, ms)
  during?.()
  try {
    for (;;) {
      const { done, value } = await reader?.read() ?? { done: true, value: undefined }
      if (done === true) break
      buffer += decoder.decode(value, { stream: true })
      let at
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at)
        buffer = buffer.slice(at + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event !== undefined) out.push({ event, data: data ?? '' })
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err
  } finally {
    clearTimeout(timer)
  }
  return out
}

describe('HTTP router', () => {
  let http: HttpEndpoint
  before(async () => {
    const router = new Router()
      .get('/metrics', (_req, res) => { res.writeHead(200).end('m') })
      .get('/files/*', (_req, res, { rest }) => { res.writeHead(200).end(`file:${rest}`) })
      .post('/files/*', (_req, res) => { res.writeHead(201).end() })
      .get('/files/special', (_req, res) => { res.writeHead(200).end('exact') })
    http = await startHttp('127.0.0.1', 0, router)
  })
  after(async () => { await http.close() })

  it('routes by method and exact path, prefix routes after exact ones', async () => {
    expect((await call(http.url, '/metrics')).body).to.equal('m')
    expect((await call(http.url, '/files/a/b.txt')).body).to.equal('file:a/b.txt')
    expect((await call(http.url, '/files/special')).body).to.equal('exact')
    expect((await call(http.url, '/files/x', { method: 'POST' })).status).to.equal(201)
    expect((await call(http.url, '/metrics', { method: 'HEAD' })).status).to.equal(200)
  })

  it('answers 404 for unknown paths and 405 with Allow for known paths under other methods', async () => {
    expect((await call(http.url, '/nothing')).status).to.equal(404)
    expect((await call(http.url, '/files')).status).to.equal(404)
    const wrong = await call(http.url, '/metrics', { method: 'POST' })
    expect(wrong.status).to.equal(405)
    expect(wrong.headers.allow).to.equal('GET, HEAD')
  })

  it('takes one route per method and path: a second one throws', () => {
    const router = new Router().post('/api/approvals/*', () => {}).get('/api/state', () => {})
    expect(() => router.post('/api/approvals/*', () => {})).to.throw(/POST \/api\/approvals\/\* exists already/)
    expect(() => router.get('/api/state', () => {})).to.throw(/exists already/)
    // other methods, or exact and prefix forms of one path, are other routes
    router.get('/api/approvals/*', () => {}).post('/api/state', () => {}).get('/api/approvals', () => {})
  })

  it('still takes a plain map of GET routes', async () => {
    const plain = await startHttp('127.0.0.1', 0, { '/healthz': (_req, res) => { res.writeHead(200).end('ok') } })
    try {
      expect((await call(plain.url, '/healthz')).body).to.equal('ok')
      expect((await call(plain.url, '/healthz', { method: 'DELETE' })).status).to.equal(405)
    } finally {
      await plain.close()
    }
  })
})

describe('dashboard server', () => {
  let http: HttpEndpoint
  let source: SyntheticSource
  let dashboard: DashboardServer

  before(async () => {
    source = new SyntheticSource(12)
    dashboard = new DashboardServer({ source, token: 'test-token-0123456789', pollMs: 60_000 })
    http = await startHttp('127.0.0.1', 0, dashboard.mount(new Router()))
  })
  after(async () => { await http.close() })

  it('makes a new 32-byte base64url token each time unless given one', () => {
    const a = dashboardToken()
    expect(a).to.match(/^[A-Za-z0-9_-]{43}$/)
    expect(dashboardToken()).to.not.equal(a)
    expect(new DashboardServer({ source }).token).to.match(/^[A-Za-z0-9_-]{43}$/)
    expect(dashboard.url('http://127.0.0.1:9090')).to.equal('http://127.0.0.1:9090/#token=test-token-0123456789')
  })

  it('serves the page and its bundled assets with their content types', async () => {
    const page = await call(http.url, '/')
    expect(page.status).to.equal(200)
    expect(page.headers['content-type']).to.equal('text/html; charset=utf-8')
    expect(page.body).to.include('assets/app.js')
    expect(page.headers['content-security-policy']).to.include("script-src 'self'")
    expect((await call(http.url, '/assets/app.js')).headers['content-type']).to.equal('text/javascript; charset=utf-8')
    expect((await call(http.url, '/assets/app.css')).headers['content-type']).to.equal('text/css; charset=utf-8')
    expect((await call(http.url, '/assets/favicon.svg')).headers['content-type']).to.equal('image/svg+xml')
    expect((await call(http.url, '/assets/nope.js')).status).to.equal(404)
  })

  it('refuses path traversal out of the assets directory', async () => {
    for (const path of ['/assets/../server.js', '/assets/%2e%2e/server.js', '/assets/..%2fserver.js', '/assets/%2e%2e%2f%2e%2e%2fpackage.json', '/assets/.hidden', '/assets//etc/passwd']) {
      const res = await call(http.url, path)
      expect(res.status, path).to.equal(404)
    }
  })

  it('answers only to loopback host names (DNS rebinding)', async () => {
    expect((await call(http.url, '/api/state', { headers: { host: 'evil.example:80' } })).status).to.equal(403)
    expect((await call(http.url, '/api/state', { headers: { host: 'localhost' } })).status).to.equal(200)
  })

  it('serves the state as JSON', async () => {
    const res = await call(http.url, '/api/state')
    expect(res.headers['content-type']).to.equal('application/json; charset=utf-8')
    const state = JSON.parse(res.body) as ReturnType<SyntheticSource['state']>
    expect(state.node.role).to.equal('relay')
    expect(state.peers).to.have.length(12)
    expect(state.approvals[0]?.status).to.equal('pending')
  })

  it('streams state events on change, at most 4 a second', async () => {
    const start = Date.now()
    let timer: ReturnType<typeof setInterval> | undefined
    const got = await events(http.url, '/api/events', 1500, () => {
      timer = setInterval(() => { source.tick() }, 20) // 50 changes a second
    })
    clearInterval(timer)
    const states = got.filter(e => e.event === 'state')
    expect(states.length).to.be.at.least(3)
    expect(states.length).to.be.at.most(Math.ceil((Date.now() - start) / 250) + 1)
    const last = JSON.parse(states[states.length - 1]?.data ?? '{}') as { sessions: Array<{ messages: unknown[] }> }
    expect(last.sessions[0]?.messages.length).to.be.greaterThan(3)
  })

  it('approvals: 401 without the token, 400 on a bad body, 415 without JSON, 404 unknown, 200 then 409', async () => {
    const body = JSON.stringify({ decision: 'approve', reply: 'see you at 9' })
    const json = { 'content-type': 'application/json' }
    expect((await call(http.url, '/api/approvals/appr-1', { method: 'POST', headers: json, body })).status).to.equal(401)
    const wrong = await call(http.url, '/api/approvals/appr-1', { method: 'POST', headers: { ...json, authorization: 'Bearer nope' }, body })
    expect(wrong.status).to.equal(401)
    expect(wrong.headers['www-authenticate']).to.equal('Bearer')
    const auth = { ...json, authorization: 'Bearer test-token-0123456789' }
    expect((await call(http.url, '/api/approvals/appr-1', { method: 'POST', headers: auth, body: '{"decision":"maybe"}' })).status).to.equal(400)
    expect((await call(http.url, '/api/approvals/appr-1', { method: 'POST', headers: { authorization: auth.authorization }, body })).status).to.equal(415)
    expect((await call(http.url, '/api/approvals/nope', { method: 'POST', headers: auth, body })).status).to.equal(404)
    const ok = await call(http.url, '/api/approvals/appr-1', { method: 'POST', headers: auth, body })
    expect(ok.status).to.equal(200)
    expect(JSON.parse(ok.body)).to.deep.equal({ id: 'appr-1', decision: 'approve', status: 'approved' })
    expect(source.decisions).to.deep.equal([{ id: 'appr-1', decision: 'approve', reply: 'see you at 9' }])
    expect((await call(http.url, '/api/approvals/appr-1', { method: 'POST', headers: auth, body })).status).to.equal(409)
    expect((await call(http.url, '/api/approvals/appr-1')).status).to.equal(405)
  })

  it('with readToken, reading the state or its events needs the token (header or ?token=)', async () => {
    const d = new DashboardServer({ source, token: 'reading-token-0123456789', readToken: true, pollMs: 60_000 })
    const endpoint = await startHttp('127.0.0.1', 0, d.mount(new Router()))
    try {
      expect((await call(endpoint.url, '/api/state')).status).to.equal(401)
      expect((await call(endpoint.url, '/api/events')).status).to.equal(401)
      expect((await call(endpoint.url, '/api/state?token=wrong-token-000000000000')).status).to.equal(401)
      expect((await call(endpoint.url, '/api/state', { headers: { authorization: 'Bearer reading-token-0123456789' } })).status).to.equal(200)
      expect((await call(endpoint.url, '/api/state?token=reading-token-0123456789')).status).to.equal(200)
      expect((await call(endpoint.url, '/')).status, 'the page itself holds nothing private').to.equal(200)
      const got = await events(endpoint.url, '/api/events?token=reading-token-0123456789', 500)
      expect(got.map(e => e.event)).to.include('state')
    } finally {
      await endpoint.close()
    }
  })

  it('answers 404 to approval actions when the source has none', async () => {
    const readOnly: DashboardSource = { state: () => source.state(), onChange: () => () => {} }
    const d = new DashboardServer({ source: readOnly, token: 'another-token-0123456789' })
    const endpoint = await startHttp('127.0.0.1', 0, d.mount(new Router()))
    try {
      const res = await call(endpoint.url, '/api/approvals/appr-1', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer another-token-0123456789' }, body: '{"decision":"approve"}' })
      expect(res.status).to.equal(404)
    } finally {
      await endpoint.close()
    }
  })

  it('ends event streams with a bye event when the endpoint closes', async () => {
    const d = new DashboardServer({ source, token: 'closing-token-0123456789' })
    const endpoint = await startHttp('127.0.0.1', 0, d.mount(new Router()))
    const got = await events(endpoint.url, '/api/events', 5000, () => { setTimeout(() => { void endpoint.close() }, 400) })
    expect(got.map(e => e.event)).to.include('state')
    expect(got[got.length - 1]?.event).to.equal('bye')
  })
})
