import { IsIn, IsInt, IsOptional, IsPositive, IsString, Matches, Max, MaxLength } from 'class-validator';

// Printable ASCII: a NUL would make the text column refuse the whole reconciliation's write.
const PRINTABLE = /^[\x20-\x7e]*$/;
const PRINTABLE_MESSAGE = { message: '$property must be printable ASCII text' };

/** One entry of the ticker's `GET /subscriptions` (CONTRACTS.md section 3). */
export class TickerSubscriptionDto {
  @IsInt()
  @IsPositive()
  @Max(Number.MAX_SAFE_INTEGER)
  instrument_token!: number;

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
  @IsIn(['active', 'inactive'])
  status?: 'active' | 'inactive' | null;

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
