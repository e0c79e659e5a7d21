import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { MAX_OFFSET } from '../../common/strict-values';
import { IntegerParam } from '../../common/validation';

export class ListSubscriptionsQuery {
  @ApiPropertyOptional({ enum: ['active', 'inactive'], description: 'Only subscriptions in this state' })
  @IsOptional()
  @IsIn(['active', 'inactive'])
  status?: 'active' | 'inactive';

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100, example: 100 })
  @IsOptional()
  @IntegerParam(1, 1000)
  limit = 100;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0, example: 0 })
  @IsOptional()
  @IntegerParam(0, MAX_OFFSET)
  offset = 0;
}
