import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CandlesService } from './candles.service';
import { CandlesQueryDto, CandlesResponseDto, CandlesTokenParamDto } from './dto/candles.dto';
import { AdmittedRead } from '../database/read-admission';

@ApiTags('candles')
@Controller('api/v1/instruments')
export class CandlesController {
  constructor(private readonly candles: CandlesService) {}

  @Get(':token/candles')
  @AdmittedRead()
  @ApiOperation({
    summary:
      'Candles of one instrument, aggregated from 1-minute data (intraday buckets start at 09:15 IST, 1d is the IST trading day)',
  })
  @ApiOkResponse({ type: CandlesResponseDto })
  @ApiBadRequestResponse({ description: 'Bad token, interval or range (too long for the interval)' })
  get(@Param() params: CandlesTokenParamDto, @Query() query: CandlesQueryDto): Promise<CandlesResponseDto> {
    return this.candles.candles(params.token, query);
  }
}
