import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, Matches } from 'class-validator';
import { IsCalendarDate, IsInstant } from '../../common/validation';

export class OptionChainParamsDto {
  @ApiProperty({
    type: String,
    pattern: '^[A-Za-z][A-Za-z0-9&_-]{0,29}$',
    example: 'NIFTY',
    description: 'Underlying name as in the ticks (`symbol`): NIFTY, BANKNIFTY, FINNIFTY (any case)',
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value))
  @Matches(/^[A-Z][A-Z0-9&_-]{0,29}$/, { message: 'underlying must be a symbol such as NIFTY' })
  underlying!: string;
}

export class OptionChainQueryDto {
  @ApiPropertyOptional({
    type: String,
    format: 'date',
    example: '2025-11-25',
    description: 'Expiry date (YYYY-MM-DD); default: the nearest expiry on or after the day of `at`',
  })
  @IsOptional()
  @IsCalendarDate()
  expiry?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    example: '2025-11-03T10:30:00+05:30',
    description:
      'Instant, ISO-8601 with Z or an offset; the chain of the latest minute at or before it. Default: now',
  })
  @IsOptional()
  @IsInstant()
  at?: string;
}

const OWN_CANDLE = "From the leg's own candle in the minute; null when it has none (no trade)";

export class OptionLegDto {
  @ApiProperty() instrument_token!: number;
  @ApiProperty({ nullable: true, type: Number, description: OWN_CANDLE }) open!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: OWN_CANDLE }) high!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: OWN_CANDLE }) low!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: OWN_CANDLE }) close!: number | null;
  @ApiProperty({ description: 'Contracts traded in the minute (units); 0 without a candle' }) volume!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description:
      'Open interest level at the end of the minute: the last known at or before it (at most 7 days ' +
      'back), also when the leg did not trade in the minute',
  })
  oi!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: OWN_CANDLE }) iv!: number | null;
  @ApiProperty({ nullable: true, type: Number }) delta!: number | null;
  @ApiProperty({ nullable: true, type: Number }) gamma!: number | null;
  @ApiProperty({ nullable: true, type: Number }) theta!: number | null;
  @ApiProperty({ nullable: true, type: Number }) vega!: number | null;
}

export class OptionChainStrikeDto {
  @ApiProperty() strike!: number;
  @ApiProperty({
    type: OptionLegDto,
    nullable: true,
    description: 'Null when the call has neither a candle in the minute nor a known OI level',
  })
  call!: OptionLegDto | null;
  @ApiProperty({
    type: OptionLegDto,
    nullable: true,
    description: 'Null when the put has neither a candle in the minute nor a known OI level',
  })
  put!: OptionLegDto | null;
}

export class OptionChainSummaryDto {
  @ApiProperty({ description: "Sum of the calls' volume in the minute" }) total_call_volume!: number;
  @ApiProperty({ description: "Sum of the puts' volume in the minute" }) total_put_volume!: number;
  @ApiProperty({ description: "Sum of every call's OI level (traded in the minute or not)" })
  total_call_oi!: number;
  @ApiProperty({ description: "Sum of every put's OI level (traded in the minute or not)" })
  total_put_oi!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Put OI / call OI' }) pcr_oi!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Put volume / call volume' })
  pcr_volume!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    description:
      'Listed strike at which option holders would be paid least at expiry, by the OI level of every leg',
  })
  max_pain_strike!: number | null;
}

export class OptionChainDto {
  @ApiProperty({ example: 'NIFTY' }) underlying!: string;
  @ApiProperty({ example: '2025-11-25' }) expiry!: string;
  @ApiProperty({ example: '2025-11-04T05:00:00.000Z', description: 'Minute start (UTC)' }) time!: string;
  @ApiProperty({ nullable: true, type: Number, description: 'Underlying level at the end of the minute' })
  underlying_close!: number | null;
  @ApiProperty({ type: OptionChainSummaryDto }) summary!: OptionChainSummaryDto;
  @ApiProperty({ type: [OptionChainStrikeDto], description: 'Ascending strike' })
  strikes!: OptionChainStrikeDto[];
}
