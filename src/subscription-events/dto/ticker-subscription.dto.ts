import { IsIn, IsInt, IsOptional, IsPositive, IsString, Max } from 'class-validator';

/** One entry of the ticker's `GET /subscriptions` (CONTRACTS.md section 3). */
export class TickerSubscriptionDto {
  @IsInt()
  @IsPositive()
  @Max(Number.MAX_SAFE_INTEGER)
  instrument_token!: number;

  @IsOptional()
  @IsString()
  tradingsymbol?: string | null;

  @IsOptional()
  @IsString()
  segment?: string | null;

  @IsOptional()
  @IsIn(['active', 'inactive'])
  status?: 'active' | 'inactive' | null;

  @IsOptional()
  @IsString()
  requested_mode?: string | null;

  @IsOptional()
  @IsString()
  account_id?: string | null;
}
