/** Payload types, clock rates, frame sizes and limits of an audio leg (protocols/media). */

/** The RTP payload type Parley offers Opus under (dynamic, as browsers do). */
export const OPUS_PAYLOAD_TYPE = 111
/** The static RTP payload type of G.711 μ-law (RFC 3551). */
export const PCMU_PAYLOAD_TYPE = 0
/** Opus's RTP clock rate, whatever the audio bandwidth (RFC 7587). */
export const OPUS_CLOCK_RATE = 48_000
/** PCMU's RTP clock rate and sample rate. */
export const PCMU_CLOCK_RATE = 8_000
/** The duration of one frame and one RTP packet, ms. */
export const FRAME_MS = 20
/** The `a=mid` an offer gives its audio section. */
export const AUDIO_MID = 'audio'

/** Longest SDP a signalling message may carry, bytes of UTF-8. */
export const MAX_SDP_BYTES = 16 * 1024
/** Largest RTP or RTCP packet a leg accepts, bytes (one MTU). */
export const MAX_PACKET_BYTES = 1500
/** Most codecs a `media/join` may list. */
export const MAX_CODECS = 8

/** Default playout delay of the jitter buffer, ms. */
export const DEFAULT_PLAYOUT_DELAY_MS = 60
/** Default size of the jitter buffer, packets (a power of two; 64 × 20 ms ≈ 1.3 s). */
export const DEFAULT_JITTER_CAPACITY = 64
/** Consecutive missing frames concealed before the playout stops until audio comes back. */
export const MAX_CONCEALED_FRAMES = 5
/** Mean interval between RTCP reports, ms (randomized ±50 %, RFC 3550 §6.2). */
export const DEFAULT_RTCP_INTERVAL_MS = 1000
/** How long a leg waits for the connection and its track to open, ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** How long a leg waits for ICE gathering before it hands out the candidates it has, ms. */
export const DEFAULT_GATHER_TIMEOUT_MS = 5_000
/** Received frames an unread `frames()` iterator holds before it drops the oldest. */
export const MAX_QUEUED_FRAMES = 50
/** How long an answering leg holds back the offer's ICE candidates, ms (leg.ts: "the offerer connects first"). */
export const DEFAULT_ANSWERER_CANDIDATE_DELAY_MS = 250
/** The request that brings audio into a session (protocols/media §2). */
export const JOIN_METHOD = 'media/join'
/** The notification that ends a session's audio leg (protocols/media §4). */
export const LEAVE_METHOD = 'media/leave'
/** The JSON-RPC error code of a refused `media/join`; `data.code` says why (protocols/media §5). */
export const MEDIA_REFUSED_RPC_CODE = -32006
