// The NSE calendar's data and the exchange circulars it comes from; MarketCalendar (market-time.ts)
// reads it, and the MARKET_HOLIDAYS and MARKET_SPECIAL_SESSIONS settings default to it.

/**
 * NSE equity-derivatives trading holidays (IST dates). Deployments override the list with
 * `MARKET_HOLIDAYS`; recheck it each December and at every new circular. Sources: NSE's circulars for
 * the equity derivatives segment (the dates cross-checked against published copies of the lists, not
 * against the circulars' PDFs):
 * - 2025: circular NSE/CMTR/65587 of 13 December 2024, "Trading holidays for the calendar year
 *   2025" (14 days; the equity derivatives segment shares the list).
 * - 2026: circular NSE/CMTR/71775 (December 2025; nsearchives.nseindia.com/content/circulars/
 *   CMTR71775.pdf), 15 days; it names Sunday 8 November 2026 (Diwali Laxmi Pujan) as the day of
 *   Muhurat trading, its timings to be notified later. Plus Thursday 15 January 2026, declared a
 *   trading holiday for the Maharashtra municipal corporation elections by NSE/CMTR/72260 of
 *   12 January 2026 (CMTR72260.pdf; a settlement holiday only until then).
 */
export const DEFAULT_NSE_HOLIDAYS: readonly string[] = [
  '2025-02-26', // Mahashivratri
  '2025-03-14', // Holi
  '2025-03-31', // Id-Ul-Fitr (Ramadan Eid)
  '2025-04-10', // Shri Mahavir Jayanti
  '2025-04-14', // Dr. Baba Saheb Ambedkar Jayanti
  '2025-04-18', // Good Friday
  '2025-05-01', // Maharashtra Day
  '2025-08-15', // Independence Day
  '2025-08-27', // Ganesh Chaturthi
  '2025-10-02', // Mahatma Gandhi Jayanti / Dussehra
  '2025-10-21', // Diwali Laxmi Pujan (Muhurat trading session: DEFAULT_NSE_SPECIAL_SESSIONS)
  '2025-10-22', // Diwali Balipratipada
  '2025-11-05', // Prakash Gurpurb Sri Guru Nanak Dev
  '2025-12-25', // Christmas
  '2026-01-15', // Municipal Corporation Election in Maharashtra (NSE/CMTR/72260)
  '2026-01-26', // Republic Day
  '2026-03-03', // Holi
  '2026-03-26', // Shri Ram Navami
  '2026-03-31', // Shri Mahavir Jayanti
  '2026-04-03', // Good Friday
  '2026-04-14', // Dr. Baba Saheb Ambedkar Jayanti
  '2026-05-01', // Maharashtra Day
  '2026-05-28', // Bakri Id
  '2026-06-26', // Muharram
  '2026-09-14', // Ganesh Chaturthi
  '2026-10-02', // Mahatma Gandhi Jayanti
  '2026-10-20', // Dussehra
  '2026-11-10', // Diwali Balipratipada (Laxmi Pujan, with Muhurat trading, is Sunday 8 November)
  '2026-11-24', // Prakash Gurpurb Sri Guru Nanak Dev
  '2026-12-25', // Christmas
];

/**
 * NSE special sessions (`YYYY-MM-DD@HH:MM-HH:MM`, IST, end exclusive): the normal market of each, as
 * the exchange notified it. Each replaces its day (holiday or weekend). Deployments override the list
 * with `MARKET_SPECIAL_SESSIONS`. Sources:
 * - 2025-02-01@09:15-15:30 (Saturday), Union Budget: live trading at regular hours, NSE circular of
 *   23 December 2024 (its reference number not confirmed here).
 * - 2025-10-21@13:45-14:45 (Tuesday, a listed holiday), Diwali Muhurat trading, pre-open from 13:30,
 *   NSE circular of 22 September 2025 (its reference number not confirmed here).
 * - 2026-02-01@09:15-15:30 (Sunday), Union Budget: live trading at regular hours, NSE Futures &
 *   Options circular of 16 January 2026 (its reference number not confirmed here).
 * - 2026-11-08@18:00-19:00 (Sunday), Diwali Muhurat trading: the day is from the 2026 holiday
 *   circular NSE/CMTR/71775, which leaves the timings to a later circular. That circular and its
 *   hours could NOT be confirmed from a source here: 18:00-19:00 is the evening hour of the 2024
 *   session (the 2025 one was 13:45-14:45), an assumption. Check NSE's Muhurat circular of 2026 and
 *   override MARKET_SPECIAL_SESSIONS if the hours differ: until then minutes outside the assumed hour
 *   are neither planned for backfill nor accepted from the stream, and those of the assumed hour that
 *   had no trade are recorded as fetched with nothing there.
 */
export const DEFAULT_NSE_SPECIAL_SESSIONS: readonly string[] = [
  '2025-02-01@09:15-15:30',
  '2025-10-21@13:45-14:45',
  '2026-02-01@09:15-15:30',
  '2026-11-08@18:00-19:00',
];
