/**
 * Audio for a human on the line (protocols/media): a media-first WebRTC
 * leg per call (node-datachannel's native API) with Opus and PCMU, RTP and
 * RTCP, a bounded jitter buffer, PCM frames in and out, and the signalling
 * messages a session carries in signed envelopes to set a leg up.
 *
 * @packageDocumentation
 */
export * from './constants.js'
export * from './errors.js'
export * from './frame.js'
export * from './codecs.js'
export * from './codec.js'
export * from './ulaw.js'
export * from './resample.js'
export * from './rtp.js'
export * from './rtcp.js'
export * from './jitter.js'
export * from './receiver.js'
export * from './sender.js'
export * from './sdp.js'
export * from './tone.js'
export * from './leg.js'
export * from './wire.js'
