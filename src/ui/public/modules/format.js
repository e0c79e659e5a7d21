// How the page writes times and durations: IST wall clock, as the exchange does.

/** IST is UTC+05:30 all year. */
export const IST_OFFSET_S = 19800;

/** @param {number} n */
const pad2 = (n) => String(n).padStart(2, '0');

/**
 * `YYYY-MM-DD HH:MM` IST of an ISO instant, `–` for none.
 * @param {string | null | undefined} iso
 */
export function ist(iso) {
  if (!iso) return '–';
  const d = new Date(Date.parse(iso) + IST_OFFSET_S * 1000);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
}

/**
 * Milliseconds as seconds, two decimals below ten seconds; `–` for none.
 * @param {number | null | undefined} ms
 */
export function seconds(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}
