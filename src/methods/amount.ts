/**
 * Amounts of money as the stores and the policy gate compare them: a value
 * and an ISO 4217 currency code. Amounts in different currencies are never
 * compared with each other. The shape is the methods' vocabulary (the
 * `price` of negotiation terms, protocols/methods §6), so it lives here,
 * below the stores that compare it.
 */

/** An amount of money, e.g. `{ value: 180, currency: 'GBP' }`. */
export interface Amount {
  /** A finite, non-negative number, in the currency's major unit. */
  value: number
  /** ISO 4217 alphabetic code: three upper-case letters. */
  currency: string
}

/** ISO 4217 alphabetic code syntax. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/

/** True for a currency code of the right syntax. */
export function isCurrency (value: unknown): value is string {
  return typeof value === 'string' && CURRENCY_PATTERN.test(value)
}

/** True for a well-formed {@link Amount} (no other members). */
export function isAmount (value: unknown): value is Amount {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const { value: v, currency, ...rest } = value as Record<string, unknown>
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && isCurrency(currency) && Object.keys(rest).length === 0
}

/** `12.5 GBP`: how amounts appear in reasons and summaries. */
export function formatAmount (amount: Amount): string {
  return `${amount.value} ${amount.currency}`
}
