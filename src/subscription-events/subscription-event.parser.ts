import { validateSync, ValidationError } from 'class-validator';
import { deeperThan } from '../common/json-depth';
import { passesValidation } from '../common/quick-validation';
import { SubscriptionEventDto, SubscriptionEventMetadataDto } from './dto/subscription-event.dto';
import { SUBSCRIPTION_EVENT_TYPES, SubscriptionEventType } from './subscription-events.constants';

/** A validated subscription event, both wire shapes folded into one. */
export interface SubscriptionEvent {
  eventType: SubscriptionEventType;
  action: 'created' | 'removed';
  instrumentToken: number;
  tradingsymbol: string | null;
  segment: string | null;
  requestedMode: string | null;
  accountId: string | null;
  /** The publisher's time, when it sent one. */
  publishedAt: Date | null;
}

/** Why an event is refused, as a metric label and the key of its log throttle: a bounded set. */
export type SubscriptionEventRejectReason =
  | 'not_text'
  | 'oversized'
  | 'invalid_json'
  | 'not_object'
  | 'envelope'
  | 'too_deep'
  | `invalid_${EventField}`;

export type ParseOutcome =
  | { ok: true; event: SubscriptionEvent }
  /**
   * `code` says why in a word, `reason` in a sentence. `eventType` is the metric label: the
   * declared type when it is a known one, else "unknown".
   */
  | {
      ok: false;
      code: SubscriptionEventRejectReason;
      reason: string;
      eventType: SubscriptionEventType | 'unknown';
      instrumentToken?: unknown;
    };

// Fields of Nest's own packet: a message carrying them was not published by the ticker, and the stock
// transport would have unwrapped it and handed the handler something else entirely.
const NEST_ENVELOPE_FIELDS = ['pattern', 'data'] as const;

/**
 * Nesting accepted anywhere in an event; the contract's deepest field (`metadata.*`) is at level 2.
 * A deeper event is refused before anything recursive sees it (see `deeperThan`).
 */
export const MAX_EVENT_DEPTH = 8;

/** The fields of an event the contract names; the rest are not read. */
export const EVENT_FIELDS = [
  'event_type',
  'instrument_token',
  'timestamp',
  'tradingsymbol',
  'segment',
  'requested_mode',
  'account_id',
  'metadata',
] as const;
type EventField = (typeof EVENT_FIELDS)[number];
const METADATA_FIELDS = ['tradingsymbol', 'segment', 'requested_mode', 'account_id'] as const;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The DTO of the fields the contract names (the rest are not needed at all), values as sent: what
 * class-transformer's `plainToInstance` would build here, without its generic walk.
 */
export function eventDto(body: Record<string, unknown>): SubscriptionEventDto {
  const dto = new SubscriptionEventDto() as unknown as Record<string, unknown>;
  for (const field of EVENT_FIELDS) if (field in body) dto[field] = body[field];
  const metadata = body.metadata;
  if (isPlainObject(metadata)) {
    const known = new SubscriptionEventMetadataDto() as unknown as Record<string, unknown>;
    for (const field of METADATA_FIELDS) if (field in metadata) known[field] = metadata[field];
    dto.metadata = known;
  }
  return dto as unknown as SubscriptionEventDto;
}

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {});
    return [
      ...own.map((message) => (message.startsWith(field) ? message : `${field}: ${message}`)),
      ...flatten(error.children ?? [], field),
    ];
  });
}

/**
 * Turns the raw text of one pub/sub message into an event, or into the reason it is rejected. Never
 * throws: a bad message must not stop the consumer.
 */
export function parseSubscriptionEvent(raw: unknown, maxBytes: number): ParseOutcome {
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (Buffer.isBuffer(raw)) text = raw.toString('utf8');
  else
    return {
      ok: false,
      code: 'not_text',
      reason: `payload is not text (${typeof raw})`,
      eventType: 'unknown',
    };

  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes)
    return {
      ok: false,
      code: 'oversized',
      reason: `payload of ${bytes} bytes exceeds the limit of ${maxBytes}`,
      eventType: 'unknown',
    };

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'invalid_json', reason: 'invalid JSON', eventType: 'unknown' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    return {
      ok: false,
      code: 'not_object',
      reason: `payload is a JSON ${kind}, not an object`,
      eventType: 'unknown',
    };
  }
  const body = value as Record<string, unknown>;
  const declared = body.event_type;
  const eventType = (SUBSCRIPTION_EVENT_TYPES as readonly unknown[]).includes(declared)
    ? (declared as SubscriptionEventType)
    : 'unknown';

  const envelope = NEST_ENVELOPE_FIELDS.filter((field) => field in body);
  if (envelope.length > 0)
    return {
      ok: false,
      code: 'envelope',
      reason: `carries the transport envelope field(s) ${envelope.join(', ')}`,
      eventType,
      instrumentToken: body.instrument_token,
    };

  if (deeperThan(body, MAX_EVENT_DEPTH))
    return {
      ok: false,
      code: 'too_deep',
      reason: `payload nested deeper than ${MAX_EVENT_DEPTH} levels`,
      eventType,
      instrumentToken: body.instrument_token,
    };

  const dto = eventDto(body);
  // The reasons are worked out only for an event that fails: the common case is one list of checks.
  const errors = passesValidation(dto) ? [] : validateSync(dto, { forbidUnknownValues: false });
  if (errors.length > 0)
    return {
      ok: false,
      // The first field refused names the reason (the DTO's fields are EVENT_FIELDS).
      code: `invalid_${errors[0].property as EventField}`,
      reason: flatten(errors).join('; '),
      eventType,
      instrumentToken: body.instrument_token,
    };

  const metadata = dto.metadata ?? {};
  return {
    ok: true,
    event: {
      eventType: dto.event_type,
      action: dto.event_type === 'subscription_created' ? 'created' : 'removed',
      instrumentToken: dto.instrument_token,
      tradingsymbol: dto.tradingsymbol ?? metadata.tradingsymbol ?? null,
      segment: dto.segment ?? metadata.segment ?? null,
      requestedMode: dto.requested_mode ?? metadata.requested_mode ?? null,
      accountId: dto.account_id ?? metadata.account_id ?? null,
      publishedAt: typeof dto.timestamp === 'number' ? new Date(dto.timestamp * 1000) : null,
    },
  };
}
