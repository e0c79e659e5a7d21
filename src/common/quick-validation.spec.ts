import 'reflect-metadata';
import {
  ArrayMaxSize,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Max,
  validateSync,
  ValidateNested,
} from 'class-validator';
import { SubscriptionEventDto } from '../subscription-events/dto/subscription-event.dto';
import { EVENT_FIELDS, eventDto } from '../subscription-events/subscription-event.parser';
import { passesValidation } from './quick-validation';

// Values of every kind the wire can bring, good and bad for some field or other.
const VALUES: unknown[] = [
  undefined,
  null,
  0,
  1,
  -1,
  2.5,
  13660418,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  1e20,
  Number.NaN,
  true,
  '',
  'NIFTY25NOV24500CE',
  'NFO-OPT',
  'FULL',
  'subscription_created',
  'subscription_removed',
  'subscription_deleted',
  'subscription_paused',
  '13660418',
  'x'.repeat(65),
  'tab\there',
  'nul\u0000',
  'é',
  [],
  ['NIFTY'],
  {},
  { tradingsymbol: 'NIFTY25NOV24500CE' },
];
const METADATA: unknown[] = [
  undefined,
  null,
  'FULL',
  [],
  [{ tradingsymbol: 'X' }],
  {},
  { tradingsymbol: 'NIFTY25NOV24500CE', segment: 'NFO-OPT', requested_mode: 'FULL', account_id: null },
  { tradingsymbol: 7 },
  { account_id: 'primary', segment: 'x'.repeat(33) },
  { requested_mode: 'nul\u0000' },
];

/** A pseudo-random sequence that is the same on every run. */
function* sequence(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    // The low bits of this generator repeat with short periods; the high ones do not.
    yield state >>> 12;
  }
}

/** A wire event with fields picked from VALUES and METADATA, as the parser turns it into its DTO. */
function event(random: Generator<number>): SubscriptionEventDto {
  const pick = <T>(values: readonly T[]): T => values[random.next().value % values.length];
  const body: Record<string, unknown> = {};
  for (const field of EVENT_FIELDS.filter((f) => f !== 'event_type' && f !== 'metadata'))
    if (random.next().value % 2 === 0) body[field] = pick(VALUES);
  const metadata = pick(METADATA);
  if (metadata !== undefined) body.metadata = metadata;
  // Mostly well-formed heads, so that the later fields are reached as well.
  body.event_type = random.next().value % 2 === 0 ? 'subscription_created' : pick(VALUES);
  if (random.next().value % 2 === 0) body.instrument_token = 13660418;
  return eventDto(body);
}

describe('passesValidation', () => {
  it('agrees with validateSync on 20,000 generated subscription events, valid and not', () => {
    const random = sequence(20251103);
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const dto = event(random);
      const expected = validateSync(dto, { forbidUnknownValues: false }).length === 0;
      if (passesValidation(dto) !== expected) throw new Error(`disagrees on ${JSON.stringify(dto)}`);
      if (expected) valid++;
    }
    // Both outcomes are well represented.
    expect(valid).toBeGreaterThan(200);
    expect(valid).toBeLessThan(19_000);
  });

  class Leg {
    @IsInt()
    @Max(10)
    lots!: number;
  }
  class Order {
    @IsOptional()
    @IsString()
    @Length(1, 8)
    name?: string;

    @ValidateNested()
    leg?: Leg;
  }

  it('answers no where its list cannot decide (an array under @ValidateNested), so the full validation does', () => {
    const order = Object.assign(new Order(), { leg: [Object.assign(new Leg(), { lots: 1 })] });
    expect(validateSync(order, { forbidUnknownValues: false })).toEqual([]);
    expect(passesValidation(order)).toBe(false);
    expect(passesValidation(Object.assign(new Order(), { leg: Object.assign(new Leg(), { lots: 1 }) }))).toBe(
      true,
    );
    expect(
      passesValidation(Object.assign(new Order(), { leg: Object.assign(new Leg(), { lots: 11 }) })),
    ).toBe(false);
    expect(passesValidation(Object.assign(new Order(), { name: '', leg: undefined }))).toBe(false);
  });

  it('refuses to compile decorators it does not mirror', () => {
    class Basket {
      @ArrayMaxSize(2)
      @IsString({ each: true })
      names!: string[];
    }
    expect(() => passesValidation(Object.assign(new Basket(), { names: ['a'] }))).toThrow(
      "Basket.names: 'each' validation is not compiled",
    );
  });
});
