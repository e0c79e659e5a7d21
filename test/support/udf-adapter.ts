/**
 * What TradingView's UDF adapter (the Charting Library's `datafeeds/udf`, `UDFCompatibleDatafeed`,
 * read in its 29.x source) does over HTTP, rewritten here so that tests drive `/udf` as a chart does:
 *
 * - `Requester.sendRequest`: `GET <datafeed>/<path>?k=v&...`, each key and `String(value)` through
 *   `encodeURIComponent`, in the order the parameters were set; the answer is read as text and
 *   `JSON.parse`d whatever the HTTP status (a 400 or a 503 is read for its `s` and `errmsg` too).
 * - `HistoryProvider.getBars`: `symbol` (the symbol info's `ticker`), `resolution`, `from`, `to`
 *   (epoch seconds from the library), `countback` when the library gives `countBack`; later copies also
 *   forward `firstDataRequest`. An answer whose `s` is neither `ok` nor `no_data` rejects with
 *   `errmsg` (the chart shows it). `ok`: each bar is `{time: t[i] * 1000, close: parseFloat(c[i]), ...}`
 *   with open/high/low only when `o` is present and volume only when `v` is; `no_data`: the metadata is
 *   `{noData: true, nextTime: <nextTime unchanged>}`, and the library reads `HistoryMetadata.nextTime`
 *   as epoch milliseconds.
 * - `DataPulseProvider` (the realtime poll, every 10 s by default): `to = parseInt(Date.now() / 1000)`
 *   (whole seconds, so almost never on a minute), `from = to - 10 periods`, `countBack: 2`,
 *   `firstDataRequest: false`.
 */

export interface AdapterBar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume?: number;
}

export interface AdapterMeta {
  noData: boolean;
  nextTime?: number;
}

export interface PeriodParams {
  from: number;
  to: number;
  countBack?: number;
  firstDataRequest?: boolean;
}

/** An answer the adapter rejects: the chart shows `errmsg` and stops loading. */
export class AdapterRejection extends Error {}

interface HistoryAnswer {
  s?: string;
  errmsg?: string;
  nextTime?: number;
  t?: number[];
  o?: number[];
  h?: number[];
  l?: number[];
  c?: number[];
  v?: number[];
}

/** The adapter's own `periodLengthSeconds`: how far back the poll's `from` lies. */
export function periodLengthSeconds(resolution: string, periods: number): number {
  let days: number;
  if (resolution === 'D' || resolution === '1D') days = periods;
  else if (resolution === 'M' || resolution === '1M') days = 31 * periods;
  else if (resolution === 'W' || resolution === '1W') days = 7 * periods;
  else days = (periods * parseInt(resolution, 10)) / (24 * 60);
  return days * 24 * 60 * 60;
}

export class UdfAdapterClient {
  /** Every query string sent, in order: what a test can show of the adapter's traffic. */
  readonly sent: string[] = [];

  constructor(
    private readonly datafeedUrl: string,
    /** Whether `firstDataRequest` is forwarded (later copies of the adapter do, 29.4 does not). */
    private readonly forwardFirstDataRequest = false,
  ) {}

  async send(path: string, params: Record<string, string | number | boolean>): Promise<unknown> {
    const query = Object.keys(params)
      .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(params[key].toString())}`)
      .join('&');
    const urlPath = query ? `${path}?${query}` : path;
    this.sent.push(urlPath);
    const response = await fetch(`${this.datafeedUrl}/${urlPath}`);
    return JSON.parse(await response.text()) as unknown;
  }

  async getBars(
    ticker: string,
    resolution: string,
    period: PeriodParams,
  ): Promise<{ bars: AdapterBar[]; meta: AdapterMeta }> {
    const params: Record<string, string | number | boolean> = {
      symbol: ticker,
      resolution,
      from: period.from,
      to: period.to,
    };
    if (period.countBack !== undefined) params.countback = period.countBack;
    if (this.forwardFirstDataRequest && period.firstDataRequest !== undefined)
      params.firstDataRequest = period.firstDataRequest;
    const answer = (await this.send('history', params)) as HistoryAnswer;
    if (answer.s !== 'ok' && answer.s !== 'no_data') throw new AdapterRejection(String(answer.errmsg));
    if (answer.s === 'no_data') return { bars: [], meta: { noData: true, nextTime: answer.nextTime } };
    const t = answer.t ?? [];
    const bars = t.map((time, i): AdapterBar => {
      const close = parseFloat(String(answer.c![i]));
      const bar: AdapterBar = { time: time * 1000, open: close, high: close, low: close, close };
      if (answer.o !== undefined) {
        bar.open = parseFloat(String(answer.o[i]));
        bar.high = parseFloat(String(answer.h![i]));
        bar.low = parseFloat(String(answer.l![i]));
      }
      if (answer.v !== undefined) bar.volume = parseFloat(String(answer.v[i]));
      return bar;
    });
    return { bars, meta: { noData: false } };
  }

  /** One realtime poll as `DataPulseProvider` sends it at `nowSeconds` (whole seconds). */
  poll(ticker: string, resolution: string, nowSeconds: number): ReturnType<UdfAdapterClient['getBars']> {
    return this.getBars(ticker, resolution, {
      from: nowSeconds - periodLengthSeconds(resolution, 10),
      to: nowSeconds,
      countBack: 2,
      firstDataRequest: false,
    });
  }
}
