import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsPositive,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_INSTANT_MS } from '../../common/strict-values';
import { SUBSCRIPTION_EVENT_TYPES, SubscriptionEventType } from '../subscription-events.constants';

// Printable ASCII: a NUL would make the text column refuse the whole batch of events it is written with.
const PRINTABLE = /^[\x20-\x7e]*$/;
const PRINTABLE_MESSAGE = { message: '$property must be printable ASCII text' };

/** `metadata` as the ticker publishes it; every field optional, `account_id` often null. */
export class SubscriptionEventMetadataDto {
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(PRINTABLE, PRINTABLE_MESSAGE)
  tradingsymbol?: string | null;

  @IsOptional()
  @IsString()
  @MaxLength(32)
  @Matches(PRINTABLE, PRINTABLE_MESSAGE)
  segment?: string | null;

  @IsOptional()
  @IsString()
  @MaxLength(32)
  @Matches(PRINTABLE, PRINTABLE_MESSAGE)
  requested_mode?: string | null;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(PRINTABLE, PRINTABLE_MESSAGE)
  account_id?: string | null;
}

/**
 * One message of `<prefix>:events` (CONTRACTS.md section 1), in either shape: the metadata fields at
 * the top level (the design note, hence the inherited fields) or inside `metadata` (the ticker). Types
 * are checked as sent: a token given as a string is rejected, not converted.
 */
export class SubscriptionEventDto extends SubscriptionEventMetadataDto {
  @IsIn(SUBSCRIPTION_EVENT_TYPES)
  event_type!: SubscriptionEventType;

  @IsInt()
  @IsPositive()
  @Max(Number.MAX_SAFE_INTEGER)
  instrument_token!: number;

  /** Epoch seconds, UTC, within the instants the service holds (MAX_INSTANT_MS). */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(Math.floor(MAX_INSTANT_MS / 1000))
  timestamp?: number | null;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => SubscriptionEventMetadataDto)
  metadata?: SubscriptionEventMetadataDto | null;
}
