import 'reflect-metadata';
import { parseSubscriptionEvent } from './subscription-event.parser';

const MAX = 8192;

describe('parseSubscriptionEvent', () => {
  it('reads the shape the ticker publishes (tradingsymbol in metadata, account_id null)', () => {
    const outcome = parseSubscriptionEvent(
      JSON.stringify({
        event_type: 'subscription_created',
        instrument_token: 13660418,
        metadata: {
          tradingsymbol: 'NIFTY25NOV24500CE',
          segment: 'NFO-OPT',
          requested_mode: 'FULL',
          account_id: null,
        },
        timestamp: 1730462400,
      }),
      MAX,
    );
    expect(outcome).toEqual({
      ok: true,
      event: {
        eventType: 'subscription_created',
        action: 'created',
        instrumentToken: 13660418,
        tradingsymbol: 'NIFTY25NOV24500CE',
        segment: 'NFO-OPT',
        requestedMode: 'FULL',
        accountId: null,
        publishedAt: new Date('2024-11-01T12:00:00Z'),
      },
    });
  });

  it("reads the design note's shape (tradingsymbol at the top, subscription_deleted)", () => {
    const created = parseSubscriptionEvent(
      `{
  "event_type": "subscription_created",
  "instrument_token": 13660418,
  "tradingsymbol": "NIFTY25NOV24500CE",
  "timestamp": 1730462400,
  "metadata": {"account_id": "primary", "requested_mode": "FULL"}
}`,
      MAX,
    );
    expect(created.ok && created.event).toMatchObject({
      action: 'created',
      tradingsymbol: 'NIFTY25NOV24500CE',
      accountId: 'primary',
      requestedMode: 'FULL',
      segment: null,
    });
    const deleted = parseSubscriptionEvent('{"event_type":"subscription_deleted","instrument_token":5}', MAX);
    expect(deleted.ok && deleted.event).toMatchObject({
      action: 'removed',
      eventType: 'subscription_deleted',
      instrumentToken: 5,
      tradingsymbol: null,
      publishedAt: null,
    });
    const removed = parseSubscriptionEvent(
      Buffer.from(
        '{"event_type":"subscription_removed","instrument_token":7,"metadata":{"tradingsymbol":"X"}}',
      ),
      MAX,
    );
    expect(removed.ok && removed.event).toMatchObject({
      action: 'removed',
      instrumentToken: 7,
      tradingsymbol: 'X',
    });
  });

  it('ignores fields it does not know', () => {
    const outcome = parseSubscriptionEvent(
      '{"event_type":"subscription_created","instrument_token":9,"source":"rebalancer","extra":{"a":1}}',
      MAX,
    );
    expect(outcome.ok).toBe(true);
    const nested = parseSubscriptionEvent(
      '{"event_type":"subscription_created","instrument_token":9,"extra":[[[[[[{"a":1}]]]]]],"metadata":{"note":{"x":[1]}}}',
      MAX,
    );
    expect(nested.ok).toBe(true);
  });

  const rejected: Array<[string, unknown, RegExp, string]> = [
    ['invalid JSON', '{"event_type":', /invalid JSON/, 'unknown'],
    ['a raw string', '"subscription_created"', /JSON string, not an object/, 'unknown'],
    ['a number', '42', /JSON number/, 'unknown'],
    ['an array', '[{"event_type":"subscription_created","instrument_token":1}]', /JSON array/, 'unknown'],
    ['null', 'null', /JSON null/, 'unknown'],
    ['a missing token', '{"event_type":"subscription_created"}', /instrument_token/, 'subscription_created'],
    [
      'a zero token',
      '{"event_type":"subscription_created","instrument_token":0}',
      /instrument_token/,
      'subscription_created',
    ],
    [
      'a negative token',
      '{"event_type":"subscription_removed","instrument_token":-3}',
      /instrument_token/,
      'subscription_removed',
    ],
    [
      'a fractional token',
      '{"event_type":"subscription_created","instrument_token":1.5}',
      /instrument_token/,
      'subscription_created',
    ],
    [
      'a token given as text',
      '{"event_type":"subscription_created","instrument_token":"13660418"}',
      /instrument_token/,
      'subscription_created',
    ],
    [
      'an unknown event_type',
      '{"event_type":"subscription_paused","instrument_token":1}',
      /event_type/,
      'unknown',
    ],
    ['a missing event_type', '{"instrument_token":1}', /event_type/, 'unknown'],
    [
      'a numeric tradingsymbol',
      '{"event_type":"subscription_created","instrument_token":1,"tradingsymbol":5}',
      /tradingsymbol/,
      'subscription_created',
    ],
    [
      'metadata that is not an object',
      '{"event_type":"subscription_created","instrument_token":1,"metadata":"x"}',
      /metadata/,
      'subscription_created',
    ],
    [
      'a wrong type inside metadata',
      '{"event_type":"subscription_created","instrument_token":1,"metadata":{"account_id":7}}',
      /metadata\.account_id/,
      'subscription_created',
    ],
    [
      'a textual timestamp',
      '{"event_type":"subscription_created","instrument_token":1,"timestamp":"yesterday"}',
      /timestamp/,
      'subscription_created',
    ],
    [
      'a timestamp past the instants the service holds (year 10000 and beyond)',
      '{"event_type":"subscription_created","instrument_token":1,"timestamp":1e20}',
      /timestamp/,
      'subscription_created',
    ],
    [
      'a timestamp whose IST date is in year 10000',
      '{"event_type":"subscription_created","instrument_token":1,"timestamp":253402293600}',
      /timestamp/,
      'subscription_created',
    ],
    [
      "Nest's envelope",
      '{"pattern":"subscription-events","data":{"event_type":"subscription_created","instrument_token":1}}',
      /envelope field\(s\) pattern, data/,
      'unknown',
    ],
    [
      "Nest's data field",
      '{"event_type":"subscription_created","instrument_token":1,"data":{}}',
      /envelope field\(s\) data/,
      'subscription_created',
    ],
    [
      'a 4 KB payload nested 2,000 arrays deep in an unknown field',
      `{"event_type":"subscription_created","instrument_token":1,"junk":${'['.repeat(2000)}${']'.repeat(2000)}}`,
      /nested deeper than 8 levels/,
      'subscription_created',
    ],
    [
      'a known field nested deep',
      `{"event_type":"subscription_removed","instrument_token":1,"metadata":{"segment":${'['.repeat(50)}${']'.repeat(50)}}}`,
      /nested deeper than 8 levels/,
      'subscription_removed',
    ],
    [
      'a NUL in a tradingsymbol (a text column refuses it)',
      '{"event_type":"subscription_created","instrument_token":1,"tradingsymbol":"NIFTY\\u0000"}',
      /tradingsymbol/,
      'subscription_created',
    ],
    [
      'a control character in metadata',
      '{"event_type":"subscription_created","instrument_token":1,"metadata":{"account_id":"a\\nb"}}',
      /metadata\.account_id/,
      'subscription_created',
    ],
    [
      'a token beyond what a JS number carries exactly',
      '{"event_type":"subscription_created","instrument_token":9007199254740993}',
      /instrument_token/,
      'subscription_created',
    ],
    [
      'a non-text payload',
      { event_type: 'subscription_created', instrument_token: 1 },
      /not text/,
      'unknown',
    ],
  ];
  it.each(rejected)('rejects %s with its reason', (_name, raw, reason, eventType) => {
    const outcome = parseSubscriptionEvent(raw, MAX);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.reason).toMatch(reason);
    expect(outcome.eventType).toBe(eventType);
  });

  it.each([
    ['{"event_type":', 'invalid_json'],
    ['[1]', 'not_object'],
    [Buffer.from('{"event_type":"subscription_created","instrument_token":-5}'), 'invalid_instrument_token'],
    ['{"event_type":"subscription_paused","instrument_token":1}', 'invalid_event_type'],
    [
      '{"event_type":"subscription_created","instrument_token":1,"metadata":{"account_id":7}}',
      'invalid_metadata',
    ],
    ['{"event_type":"subscription_created","instrument_token":1,"timestamp":"x"}', 'invalid_timestamp'],
    ['{"pattern":"x","data":{}}', 'envelope'],
    [
      `{"event_type":"subscription_created","instrument_token":1,"x":${'['.repeat(20)}${']'.repeat(20)}}`,
      'too_deep',
    ],
    [42, 'not_text'],
  ])('names the refusal of %s by the reason %s, a metric label', (raw, code) => {
    const outcome = parseSubscriptionEvent(raw, MAX);
    expect(outcome.ok ? 'accepted' : outcome.code).toBe(code);
  });

  it('rejects a payload over the size limit before parsing it', () => {
    const big = JSON.stringify({
      event_type: 'subscription_created',
      instrument_token: 1,
      pad: 'x'.repeat(400),
    });
    const outcome = parseSubscriptionEvent(big, 256);
    expect(outcome).toEqual({
      ok: false,
      code: 'oversized',
      reason: `payload of ${big.length} bytes exceeds the limit of 256`,
      eventType: 'unknown',
    });
    expect(parseSubscriptionEvent(big, 8192).ok).toBe(true);
  });

  it('counts bytes, not characters, against the limit', () => {
    const text = JSON.stringify({
      event_type: 'subscription_created',
      instrument_token: 1,
      note: 'é'.repeat(150),
    });
    expect(text.length).toBeLessThan(256);
    expect(parseSubscriptionEvent(text, 256).ok).toBe(false);
  });
});
