/**
 * A person in a browser tab joins a session by voice (issue 15): the example
 * page (docs/examples/browser-agent/, started as a person's tab, kind
 * `human`) in Chromium behind a home NAT, with a fake microphone playing a
 * 440 Hz WAV the test writes; a relay and a Node agent (`voice-proc.ts`) on
 * the public segment. The tab calls the agent by handle, clicks Join by
 * voice, and:
 *
 * - the Node agent hears 440 Hz in at least 90 % of the frames it plays out
 *   after the first 200 ms, over two seconds;
 * - the page hears the agent's 880 Hz: a Web Audio `AnalyserNode` on the
 *   leg's remote stream peaks near 880 Hz, far above the rest of the
 *   spectrum, in most of its samples;
 * - Mute stops the tone reaching the agent; Leave ends the leg and the
 *   session goes on (a `ping` each way);
 * - the page showed the agent's verified handle and kind on the line, and
 *   the tab's leg read the certificate the agent presented;
 * - the tab refuses a signed join whose fingerprint is not its SDP's
 *   (`ERR_MEDIA_FINGERPRINT`);
 * - the other direction: the agent joins the tab's session (Node offers,
 *   Chromium answers), and each side hears the other;
 * - PCMU: a browser leg offering PCMU only and a Node leg answering it
 *   (outside any session, through the browser entry on `window.parley`).
 */
import { expect } from 'chai'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'
import { buildTopology, namespacesUnavailable, startPublicRelay } from '../net/topology.js'
import type { Topology } from '../net/topology.js'
import { Proc } from '../net/proc.js'
import type { Event } from '../net/proc.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { bundleForBrowser, CHROMIUM, ROOT, requireChromium } from './harness.js'
import { FLAGS } from '../dashboard/browser.js'

const AGENT = fileURLToPath(new URL('./voice-proc.js', import.meta.url))
const EXAMPLE = join(ROOT, 'docs', 'examples', 'browser-agent')
const ORIGIN = 'http://localhost'
const BITS = 8
const TAB = 'tab-person'
const BOT = 'voicebot'

/** A WAV file: mono, 48 kHz, 16-bit PCM, `seconds` of a sine (a whole number of cycles, so it loops without a click). */
function sineWav (frequency: number, seconds: number, amplitude = 12_000): Buffer {
  const rate = 48_000
  const n = rate * seconds
  const data = Buffer.alloc(n * 2)
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(amplitude * Math.sin(2 * Math.PI * frequency * i / rate)), i * 2)
  const header = Buffer.alloc(44)
  header.write('RIFF', 0)
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVE', 8)
  header.write('fmt ', 12)
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(1, 22) // mono
  header.writeUInt32LE(rate, 24)
  header.writeUInt32LE(rate * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36)
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

/** What the page's analyser saw: the spectrum's peak and how far above everything else away from it. */
interface Spectrum { peakHz: number, peakDb: number, restDb: number }

/**
 * Samples the far side's audio of the call on session `id` (or, with `null`,
 * of the page's `rawLeg`) with an `AnalyserNode` (FFT 8192 at the context's
 * rate), `count` times `everyMs` apart.
 */
async function listen (page: Page, id: string | null, count = 15, everyMs = 100): Promise<Spectrum[]> {
  return page.evaluate(async ([sid, n, ms]) => {
    const g = globalThis as unknown as { parleyExample?: { calls: Map<string, { leg: { remoteStream: MediaStream } }> }, rawLeg?: { remoteStream: MediaStream } }
    const call = sid === null ? g.rawLeg : g.parleyExample?.calls.get(sid)?.leg
    if (call === undefined) throw new Error(`no call on session ${String(sid)}`)
    const ctx = new AudioContext()
    await ctx.resume()
    const analyser = ctx.createAnalyser()
    analyser.fftSize = 8192
    analyser.smoothingTimeConstant = 0
    const source = ctx.createMediaStreamSource(call.remoteStream)
    source.connect(analyser)
    const bins = new Float32Array(analyser.frequencyBinCount)
    const hz = ctx.sampleRate / analyser.fftSize
    const out: Array<{ peakHz: number, peakDb: number, restDb: number }> = []
    await new Promise(resolve => setTimeout(resolve, 300))
    for (let k = 0; k < n; k++) {
      analyser.getFloatFrequencyData(bins)
      let peak = 1
      for (let i = 1; i < bins.length; i++) if ((bins[i] ?? -Infinity) > (bins[peak] ?? -Infinity)) peak = i
      let rest = -Infinity
      // everything more than 60 Hz from the peak (the window's main lobe and its leakage are within)
      for (let i = 1; i < bins.length; i++) if (Math.abs(i - peak) * hz > 60) rest = Math.max(rest, bins[i] ?? -Infinity)
      out.push({ peakHz: peak * hz, peakDb: bins[peak] ?? -Infinity, restDb: rest })
      await new Promise(resolve => setTimeout(resolve, ms))
    }
    source.disconnect()
    await ctx.close()
    return out
  }, [id, count, everyMs] as const)
}

/** The local and remote SDP of the tab's leg on session `id`. */
async function descriptions (page: Page, id: string): Promise<{ local: string, remote: string }> {
  return page.evaluate((sid) => {
    const pc = (globalThis as unknown as { parleyExample: { calls: Map<string, { leg: { peerConnection: RTCPeerConnection } }> } }).parleyExample.calls.get(sid)?.leg.peerConnection
    return { local: pc?.localDescription?.sdp ?? '', remote: pc?.remoteDescription?.sdp ?? '' }
  }, id)
}

function audioLine (sdp: string): string {
  return /^m=audio .*$/m.exec(sdp)?.[0].trim() ?? ''
}

/** An SDP in a line: its audio m-line, setup role, codecs, candidate types, extensions. */
function summary (sdp: string): string {
  const all = (re: RegExp): string[] => [...sdp.matchAll(re)].map(m => m[1] ?? '')
  return `${audioLine(sdp)}; setup ${all(/^a=setup:(\S+)/gm).join(',')}; ${all(/^a=rtpmap:(.+)$/gm).map(r => r.trim()).join(', ')}; fmtp ${all(/^a=fmtp:(.+)$/gm).map(r => r.trim()).join(' | ')}; candidates ${all(/^a=candidate:\S+ \d \S+ \d+ (\S+ \d+ typ \S+)/gm).join(', ')}; ${all(/^a=extmap:/gm).length} extmap, ${all(/^a=ssrc:(\d+) cname/gm).length} ssrc cname, mid ${all(/^a=mid:(\S+)/gm).join(',')}`
}

/** The share of spectra whose peak is within 15 Hz of `frequency` and at least 20 dB above the rest. */
function heardAt (spectra: Spectrum[], frequency: number): number {
  return spectra.filter(s => Math.abs(s.peakHz - frequency) < 15 && s.peakDb - s.restDb >= 20 && s.peakDb > -80).length / spectra.length
}

/**
 * Each side listens for the other's tone at once: the agent (`bot`) for the
 * page's 440 Hz over 2 s, the page (`id`: its leg, or null for a raw leg) for
 * the agent's 880 Hz. What the agent heard, the page's spectra, and the share
 * of them at 880 Hz.
 */
async function hearEachOther (bot: Proc, page: Page, id: string | null): Promise<{ heard: Event, spectra: Spectrum[], atPage: number }> {
  const atBot = bot.events.length
  bot.send({ cmd: 'heard', frequency: 440, skipMs: 200, ms: 2000 })
  const [heard, spectra] = await Promise.all([
    bot.waitFor(e => e.event === 'heard' || e.event === 'error', 20_000, atBot),
    listen(page, id)
  ])
  return { heard, spectra, atPage: heardAt(spectra, 880) }
}

describe('a person in a browser tab joins a session by voice (Chromium, fake microphone, a Node agent)', function () {
  this.timeout(180_000)
  let topo: Topology | undefined
  let dir: string | undefined
  let relay: RelayProcess | undefined
  let bot: Proc | undefined
  let context: BrowserContext | undefined
  let page: Page
  let botPeer: string
  let tabPeer: string
  let sessionId: string
  const pageErrors: string[] = []
  const item = `#session-list > li[data-remote-handle="${BOT}"]`

  before(async function () {
    requireChromium(this)
    const unavailable = namespacesUnavailable()
    if (unavailable !== undefined) {
      if (process.env.CI === 'true') throw new Error(`CI runs the browser voice test, but ${unavailable}`)
      console.log(`      (skipped: ${unavailable})`)
      this.skip()
    }
    const t0 = Date.now()
    topo = buildTopology([{ router: 'home', nat: 'endpoint-independent', hosts: ['tabs'] }])
    dir = await mkdtemp(join(tmpdir(), 'parley-voice-tab-'))
    topo.adoptDir(dir)
    const wav = join(dir, 'a440.wav')
    await writeFile(wav, sineWav(440, 2))
    const { bundleApp } = await import(pathToFileURL(join(EXAMPLE, 'serve.mjs')).href) as { bundleApp: () => Promise<{ files: Map<string, Uint8Array> }> }
    const [r, app, raw] = await Promise.all([
      startPublicRelay(topo, join(dir, 'relay'), { minPowBits: BITS }),
      bundleApp(),
      // the browser entry on window.parley, for a leg outside any session
      bundleForBrowser('dist/test/browser/agent-page.js')
    ])
    relay = r
    const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_RELAY: relay.tcp.toString(), HANDLE: BOT }
    delete env.PARLEY_WEBRTC_BIND
    bot = new Proc('voicebot', topo.spawn('pub', [process.execPath, AGENT], env))
    // Chromium in the home LAN's namespace: its ICE host candidate is its LAN address there
    const wrapper = join(dir, 'chromium-in-ns.sh')
    await writeFile(wrapper, `#!/bin/sh\nexec ${topo.wrap('tabs').join(' ')} ${CHROMIUM} "$@"\n`)
    await chmod(wrapper, 0o755)
    context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: wrapper,
      headless: true,
      args: [
        ...FLAGS,
        // host candidates as addresses, not mDNS names (libdatachannel cannot resolve them)
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        // a microphone without a person: granted without asking, playing the test's WAV
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        `--use-file-for-fake-audio-capture=${wav}`,
        '--autoplay-policy=no-user-gesture-required'
      ]
    })
    await context.route(`${ORIGIN}/**`, async (route) => {
      const name = new URL(route.request().url()).pathname.slice(1) || 'index.html'
      const bundled = app.files.get(name)
      if (name === 'raw.html') await route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>raw leg</title><script type="module" src="/raw.js"></script>\n' })
      else if (name === 'raw.js') await route.fulfill({ contentType: 'text/javascript', body: raw.code })
      else if (bundled !== undefined) await route.fulfill({ contentType: name.endsWith('.map') ? 'application/json' : 'text/javascript', body: Buffer.from(bundled) })
      else if (name === 'index.html' || name === 'style.css') await route.fulfill({ path: join(EXAMPLE, name), contentType: name === 'index.html' ? 'text/html' : 'text/css' })
      else await route.fulfill({ status: 404, body: '' })
    })
    const ready = await bot.waitFor(e => e.event === 'ready', 60_000)
    botPeer = String(ready.peer)
    page = await context.newPage()
    page.on('pageerror', err => { pageErrors.push(String(err)); console.error('page error:', err) })
    await page.goto(`${ORIGIN}/?kind=human&relay=${encodeURIComponent(relay.ws.toString())}`)
    console.log(`      namespaces, relay, Node agent and the tab up in ${Date.now() - t0} ms`)
  })

  after(async () => {
    await context?.close().catch(() => {})
    await bot?.stop()
    await relay?.stop('SIGKILL')
    topo?.destroy()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('the page starts a person\'s tab (kind human) and calls the agent by handle', async () => {
    expect(await page.isChecked('#human'), '?kind=human ticks the box').to.equal(true)
    await page.fill('#handle', TAB)
    await page.click('#start-button')
    await page.waitForSelector('body[data-state="registered"]', { timeout: 60_000 })
    tabPeer = (await page.textContent('#peer-id')) ?? ''
    expect(await page.textContent('#my-kind')).to.equal('human')
    await page.fill('#call-to', `@${BOT}`)
    await page.fill('#call-method', 'ping')
    await page.click('#call-button')
    await page.waitForFunction(() => ['ok', 'error'].includes(document.querySelector('#call-result')?.getAttribute('data-state') ?? ''), undefined, { timeout: 30_000 })
    expect(await page.textContent('#call-result')).to.equal('"pong"')
    sessionId = (await page.getAttribute(item, 'data-session')) ?? ''
    expect(sessionId).to.not.equal('')
    // the transcript so far is on the page, every envelope from the agent verified
    expect(await page.locator(`${item} li[data-dir="in"][data-kind="response"][data-method="ping"]`).getAttribute('data-signer')).to.equal(botPeer)
  })

  it('Join by voice: the agent hears the fake microphone\'s 440 Hz, the page hears the agent\'s 880 Hz, the page shows who is on the line', async () => {
    const b = bot as Proc
    const from = b.events.length
    const t0 = Date.now()
    await page.click(`${item} [data-voice-action="join"]`)
    const call = await b.waitFor(e => e.event === 'call' || e.event === 'error', 30_000, from)
    expect(call.event, JSON.stringify(call)).to.equal('call')
    await page.waitForSelector(`${item} .voice[data-voice="on"]`, { timeout: 20_000 })
    const joinedMs = Date.now() - t0
    expect(call.remote).to.deep.equal({ peer: tabPeer, handle: TAB, kind: 'human' })
    expect(call.joining).to.deep.equal({ local: 'agent', remote: 'human' })
    expect(call.codec).to.equal('opus')
    // who is on the line, as the session verified the far side
    const line = page.locator(`${item} .voice .on-line`)
    expect(await line.getAttribute('data-remote-handle')).to.equal(BOT)
    expect(await line.getAttribute('data-remote-kind')).to.equal('agent')
    expect(await line.getAttribute('data-remote-peer')).to.equal(botPeer)
    expect(await line.textContent()).to.include(`✓ @${BOT} (agent)`)
    // the certificate the agent presented (getStats) is the one its signed answer named
    const tabLeg = await page.evaluate((id) => {
      const leg = (globalThis as unknown as { parleyExample: { calls: Map<string, { leg: { presentedFingerprint?: string, timings: Record<string, number>, codec?: { name: string } } }> } }).parleyExample.calls.get(id)?.leg
      return { presented: leg?.presentedFingerprint ?? null, timings: leg?.timings ?? {}, codec: leg?.codec?.name ?? null }
    }, sessionId)
    expect(tabLeg.presented, 'the presented DTLS certificate').to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    expect(tabLeg.codec).to.equal('opus')
    // what Chromium offered and libdatachannel answered
    const sdp = await descriptions(page, sessionId)
    console.log(`      Chromium's offer: ${summary(sdp.local)}\n      libdatachannel's answer: ${summary(sdp.remote)}`)
    expect(audioLine(sdp.local), 'the tab offers Opus then PCMU, nothing else').to.match(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 111 0$/)
    expect(sdp.local, 'with its candidates').to.match(/^a=candidate:/m)

    const { heard, spectra, atPage } = await hearEachOther(b, page, sessionId)
    const peaks = spectra.map(s => `${s.peakHz.toFixed(0)} Hz +${(s.peakDb - s.restDb).toFixed(0)} dB`)
    console.log(`      joined by voice in ${joinedMs} ms (click to the page showing the call; the tab's leg: microphone ${Number(tabLeg.timings.microphoneMs).toFixed(0)} ms, ICE gathering ${Number(tabLeg.timings.gatherMs).toFixed(0)} ms, open ${Number(tabLeg.timings.openMs).toFixed(0)} ms after it had the answer; the agent's open ${String(call.openMs)} ms after it answered); the agent heard 440 Hz in ${String(heard.hits)} of ${String(heard.frames)} frames (${(100 * Number(heard.share)).toFixed(1)} %); the page's analyser peaked at 880 Hz in ${(100 * atPage).toFixed(0)} % of ${spectra.length} samples (${peaks.slice(0, 4).join(', ')}, …)`)
    expect(heard.event, JSON.stringify(heard)).to.equal('heard')
    expect(Number(heard.frames), 'frames played out in 2 s').to.be.at.least(90)
    expect(Number(heard.share), JSON.stringify(heard)).to.be.at.least(0.9)
    expect(atPage, JSON.stringify(spectra)).to.be.at.least(0.8)
  })

  it('Mute stops the tone reaching the agent; Unmute brings it back', async () => {
    const b = bot as Proc
    await page.click(`${item} [data-voice-action="mute"]`)
    expect(await page.getAttribute(`${item} .voice`, 'data-muted')).to.equal('true')
    let from = b.events.length
    b.send({ cmd: 'heard', frequency: 440, since: 'now', skipMs: 300, ms: 1500 })
    const muted = await b.waitFor(e => e.event === 'heard' || e.event === 'error', 20_000, from)
    await page.click(`${item} [data-voice-action="mute"]`)
    expect(await page.getAttribute(`${item} .voice`, 'data-muted')).to.equal('false')
    from = b.events.length
    b.send({ cmd: 'heard', frequency: 440, since: 'now', skipMs: 300, ms: 1500 })
    const unmuted = await b.waitFor(e => e.event === 'heard' || e.event === 'error', 20_000, from)
    console.log(`      muted: 440 Hz in ${String(muted.hits)} of ${String(muted.frames)} frames the agent played out (peak ${String(muted.peak)}); unmuted: ${String(unmuted.hits)} of ${String(unmuted.frames)}`)
    expect(Number(muted.share), JSON.stringify(muted)).to.be.at.most(0.05)
    expect(Number(unmuted.share), JSON.stringify(unmuted)).to.be.at.least(0.9)
  })

  it('Leave ends the leg at both ends; the session goes on (ping both ways)', async () => {
    const b = bot as Proc
    const from = b.events.length
    await page.click(`${item} [data-voice-action="leave"]`)
    const ended = await b.waitFor(e => e.event === 'call:end', 10_000, from)
    expect(ended.error).to.equal(null)
    await page.waitForSelector(`${item} .voice[data-voice="off"]`, { timeout: 10_000 })
    expect(await page.evaluate((id) => (globalThis as unknown as { parleyExample: { calls: Map<string, unknown> } }).parleyExample.calls.has(id), sessionId)).to.equal(false)
    await page.click('#call-button')
    await page.waitForFunction(() => document.querySelector('#call-result')?.getAttribute('data-state') === 'ok' && document.querySelector('#call-result')?.textContent === '"pong"', undefined, { timeout: 20_000 })
    const at = b.events.length
    b.send({ cmd: 'ping' })
    expect(await b.waitFor(e => e.event === 'reply' || e.event === 'error', 20_000, at)).to.deep.include({ event: 'reply', result: 'pong' })
    expect(await page.getAttribute(`${item} .path`, 'data-path')).to.not.equal('closed')
  })

  it('the tab refuses a signed join whose fingerprint is not its SDP\'s; the session goes on', async () => {
    const b = bot as Proc
    const from = b.events.length
    b.send({ cmd: 'forge' })
    const refused = await b.waitFor(e => (e.event === 'reply' && e.cmd === 'forge') || e.event === 'error', 20_000, from)
    expect(refused.result, JSON.stringify(refused)).to.deep.equal({ code: -32006, data: { code: 'ERR_MEDIA_FINGERPRINT' } })
    expect(await page.getAttribute(`${item} .voice`, 'data-voice')).to.equal('off')
    const at = b.events.length
    b.send({ cmd: 'ping' })
    expect(await b.waitFor(e => e.event === 'reply' || e.event === 'error', 20_000, at)).to.deep.include({ event: 'reply', result: 'pong' })
  })

  it('the agent joins the tab\'s session by voice (Node offers, Chromium answers): each hears the other', async () => {
    const b = bot as Proc
    const from = b.events.length
    b.send({ cmd: 'join' })
    const reply = await b.waitFor(e => (e.event === 'reply' && e.cmd === 'join') || e.event === 'error', 30_000, from)
    expect(reply.event, JSON.stringify(reply)).to.equal('reply')
    const call = await b.waitFor(e => e.event === 'call', 10_000, from)
    expect(call.codec).to.equal('opus')
    await page.waitForSelector(`${item} .voice[data-voice="on"]`, { timeout: 20_000 })
    const { heard, spectra, atPage } = await hearEachOther(b, page, sessionId)
    console.log(`      Node → tab: open ${String(call.openMs)} ms after the agent's join went out; the agent heard 440 Hz in ${(100 * Number(heard.share)).toFixed(1)} % of ${String(heard.frames)} frames, the page 880 Hz in ${(100 * atPage).toFixed(0)} % of its samples`)
    expect(Number(heard.share), JSON.stringify(heard)).to.be.at.least(0.9)
    expect(atPage, JSON.stringify(spectra)).to.be.at.least(0.8)
    const end = b.events.length
    await page.click(`${item} [data-voice-action="leave"]`)
    await b.waitFor(e => e.event === 'call:end', 10_000, end)
    expect(pageErrors).to.deep.equal([])
  })

  it('PCMU: a tab leg offering PCMU only and a Node leg answering interoperate (a leg outside any session)', async () => {
    const b = bot as Proc
    const raw = await (context as BrowserContext).newPage()
    raw.on('pageerror', err => { pageErrors.push(String(err)) })
    await raw.goto(`${ORIGIN}/raw.html`)
    await raw.waitForFunction(() => document.title === 'parley tab ready')
    const offer = await raw.evaluate(async () => {
      type Leg = { offer: () => Promise<{ sdp: string, fingerprint: string }>, remoteStream: MediaStream }
      const w = globalThis as unknown as { parley: { BrowserAudioLeg: new (o: unknown) => Leg }, rawLeg?: Leg }
      const leg = w.rawLeg = new w.parley.BrowserAudioLeg({ codecs: ['pcmu'] })
      // Chromium feeds a remote stream to Web Audio only while a media element plays it
      const audio = document.createElement('audio')
      audio.autoplay = true
      audio.srcObject = leg.remoteStream
      document.body.append(audio)
      return leg.offer()
    })
    expect(audioLine(offer.sdp), 'PCMU only').to.match(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0$/)
    const from = b.events.length
    b.send({ cmd: 'raw-answer', sdp: offer.sdp, fingerprint: offer.fingerprint })
    const reply = await b.waitFor(e => (e.event === 'reply' && e.cmd === 'raw-answer') || e.event === 'error', 20_000, from)
    expect(reply.event, JSON.stringify(reply)).to.equal('reply')
    const answer = reply.result as { sdp: string, fingerprint: string }
    await raw.evaluate(async ([sdp, fingerprint]) => {
      await (globalThis as unknown as { rawLeg: { accept: (s: string, f: string) => Promise<void> } }).rawLeg.accept(sdp, fingerprint)
    }, [answer.sdp, answer.fingerprint] as const)
    const call = await b.waitFor(e => e.event === 'call', 10_000, from)
    expect(call.codec).to.equal('pcmu')
    const { heard, spectra, atPage } = await hearEachOther(b, raw, null)
    console.log(`      PCMU: libdatachannel answered ${audioLine(answer.sdp)}; the agent heard 440 Hz (8 kHz frames) in ${(100 * Number(heard.share)).toFixed(1)} % of ${String(heard.frames)} frames, the page 880 Hz in ${(100 * atPage).toFixed(0)} % of its samples`)
    expect(Number(heard.share), JSON.stringify(heard)).to.be.at.least(0.9)
    expect(atPage, JSON.stringify(spectra)).to.be.at.least(0.8)
    b.send({ cmd: 'raw-close' })
    await raw.close()
  })
})
