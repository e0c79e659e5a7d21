import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ListSubscriptionsQuery } from './dto/list-subscriptions.query';
import { SubscriptionListDto } from './dto/subscription-view.dto';
import { SubscriptionsQueryService } from './subscriptions-query.service';
import { AdmittedRead } from '../database/read-admission';

@ApiTags('subscriptions')
@Controller('api/v1/subscriptions')
export class SubscriptionsController {
  constructor(private readonly query: SubscriptionsQueryService) {}

  @Get()
  @AdmittedRead()
  @ApiOperation({
    summary: "The service's view of each instrument: subscription status, newest candle, latest backfill job",
  })
  @ApiOkResponse({ type: SubscriptionListDto })
  @ApiBadRequestResponse({ description: 'A bad status, limit or offset, with the field named' })
  list(@Query() params: ListSubscriptionsQuery): Promise<SubscriptionListDto> {
    return this.query.list(params.status, params.limit, params.offset);
  }
}
