/**
 * Parley in the browser: what a page imports from `parley-mesh` (bundlers
 * pick this entry through the `browser` export condition). The same API as
 * in Node — `createAgent`, the Parley libp2p services, envelopes, handles,
 * negotiation, stores — with the browser's agent assembly (WebSockets to
 * relays, WebRTC, circuit relay, IndexedDB) and nothing that needs Node.js.
 * Not here: the relay, the dashboard server, the CLI, the file-based key
 * store and replay journal (Node-only).
 *
 * @example
 * ```ts
 * import { createAgent } from 'parley-mesh'
 *
 * const tab = await createAgent({ handle: 'tab-alice', dataDir: 'parley', relays: ['/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooW…'] })
 * await tab.start()
 * console.log(await (await tab.connect('@rapidplumb')).request('ping')) // 'pong'
 * ```
 *
 * @packageDocumentation
 */
export * from './errors.js'
export * from './crypto/index.js'
export * from './identity/browser.js'
export * from './envelope/index.js'
export * from './handles/index.js'
export * from './negotiation/index.js'
export * from './methods/index.js'
export * from './store/index.js'
export * from './mcp/index.js'
export * from './a2a/index.js'
export { createAgent, Agent, BROWSER } from './agent/browser.js'
export type { AgentOptions } from './agent/browser.js'
export type { AgentServices, AgentPlatform, AgentStores } from './agent/assembly.js'
export type { AgentEvents, VerifiedCard } from './agent/events.js'
export { parley, ParleyService } from './agent/service.js'
export type { ParleyInit, ParleyComponents } from './agent/service.js'
export { parleyDHT } from './agent/dht.js'
export { INBOUND_CONNECTIONS_PER_SECOND_PER_HOST, MAX_INCOMING_PENDING_CONNECTIONS } from './agent/constants.js'
export type { ParleyDHTInit } from './agent/dht.js'
export { Session, RpcError, RequestTimeoutError, SessionClosedError, SessionLimitError } from './session/session.js'
export type { Caller, Handler, HandlerContext, HandlerParams, SessionEvents, EnvelopeRecord } from './session/session.js'
export { BlobError, BlobErrorCode, BLOB_PROTOCOL, isBlobRef } from './session/blob.js'
export type { BlobRef } from './session/blob.js'
export { SESSION_PROTOCOL } from './session/constants.js'
export { MediaCalls, JOIN_TIMEOUT_MS } from './media/calls.js'
export type { Call, CallParties, MediaDescription, MediaLeg, MediaCallsEvents, MediaCallsInit } from './media/calls.js'
export { MediaError, MediaErrorCode } from './media/errors.js'
export type { PcmFrame, ReceivedFrame } from './media/frame.js'
export type { MediaParty } from './media/wire.js'
export type { CodecInfo, CodecName } from './media/codecs.js'
export { toneFrames, goertzel, detectTone, playTone, toneShare } from './media/tone.js'
export type { ToneOptions, ToneSink } from './media/tone.js'
export { BrowserAudioLeg, createBrowserAudioLeg, browserAudioLeg } from './media/browser-leg.js'
export type { BrowserAudioLegOptions, BrowserAudioLegState, BrowserAudioLegEvents, BrowserAudioLegTimings } from './media/browser-leg.js'
export { Desk } from './agent/desk.js'
export type { InboxMessage } from './agent/desk.js'
export { Negotiations } from './agent/negotiations.js'
export type { MoveResult } from './agent/negotiations.js'
