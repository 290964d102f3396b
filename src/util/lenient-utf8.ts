/**
 * Lenient UTF-8 decoding, for bytes a remote peer sent that are only to be
 * shown or recorded (a refused frame in a transcript, the event log, a log
 * line, the dashboard). It never throws: each invalid sequence becomes
 * U+FFFD, so the result is always well-formed Unicode (I-JSON safe).
 *
 * Bytes that are to be *trusted* — parsed, verified, hashed as text — are
 * decoded strictly where they are checked (`fromUtf8` in `crypto/bytes`,
 * inside the code that owns the refusal), never with these.
 *
 * Inside this package (this module is not a public export):
 *
 * ```ts
 * lenientUtf8(Uint8Array.of(0xff, 0x41))        // '\uFFFDA'
 * lenientUtf8Prefix(utf8('x€'), 2)              // 'x' (the euro sign's 3 bytes do not fit)
 * ```
 */

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

/** Decodes `bytes` as UTF-8, replacing each invalid sequence with U+FFFD. Never throws. */
export function lenientUtf8 (bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

/**
 * The text of at most the first `maxBytes` bytes, cut at a character
 * boundary: a character that does not fit whole is left out rather than
 * split (which would show as U+FFFD). Invalid sequences become U+FFFD.
 */
export function lenientUtf8Prefix (bytes: Uint8Array, maxBytes: number): string {
  let end = Math.max(0, Math.min(maxBytes, bytes.byteLength))
  if (end < bytes.byteLength) {
    // back off over the continuation bytes (10xxxxxx) of a character cut at `end`: at most 3
    const floor = Math.max(0, end - 3)
    let i = end
    while (i > floor && ((bytes[i] as number) & 0xc0) === 0x80) i--
    if (i < end && ((bytes[i] as number) & 0xc0) !== 0x80 && ((bytes[i] as number) & 0x80) !== 0) end = i
  }
  return decoder.decode(bytes.subarray(0, end))
}
