import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { OptionChainDto, OptionChainParamsDto, OptionChainQueryDto } from './dto/option-chain.dto';
import { OptionChainService } from './option-chain.service';
import { AdmittedRead } from '../database/read-admission';

@ApiTags('options')
@Controller('api/v1/options')
export class OptionChainController {
  constructor(private readonly chains: OptionChainService) {}

  @Get(':underlying/chain')
  @AdmittedRead()
  @ApiOperation({
    summary: "One minute of an expiry's option chain",
    description:
      'The chain of the latest minute at or before `at` with a candle of any option of the expiry: ' +
      'every listed strike whose call or put traded in the minute or has a known OI level. Per leg, ' +
      'OHLC, volume and greeks of its own candle in the minute (none: null prices and greeks, volume ' +
      '0) and its OI level (the last known at or before the minute, at most 7 days back). Totals, ' +
      'put-call ratios and max pain use every leg: volume from the minute, OI from the levels, so a ' +
      'past minute or the chain after the close is complete (fo_option_strike_bars, fo_expiry_metrics).',
  })
  @ApiOkResponse({ type: OptionChainDto })
  @ApiBadRequestResponse({ description: 'Bad underlying, expiry or at' })
  @ApiNotFoundResponse({ description: 'No such expiry, or no option candle at or before `at`' })
  chain(@Param() params: OptionChainParamsDto, @Query() query: OptionChainQueryDto): Promise<OptionChainDto> {
    return this.chains.chain(params.underlying, query.expiry, query.at);
  }
}
