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

@ApiTags('options')
@Controller('api/v1/options')
export class OptionChainController {
  constructor(private readonly chains: OptionChainService) {}

  @Get(':underlying/chain')
  @ApiOperation({
    summary: "One minute of an expiry's option chain",
    description:
      'Call and put OHLC, volume, OI and greeks per strike for the latest minute at or before `at` ' +
      '(from fo_option_strike_bars), with total volume and OI, put-call ratios and max pain by OI ' +
      '(from fo_expiry_metrics).',
  })
  @ApiOkResponse({ type: OptionChainDto })
  @ApiBadRequestResponse({ description: 'Bad underlying, expiry or at' })
  @ApiNotFoundResponse({ description: 'No such expiry, or no option candle at or before `at`' })
  chain(@Param() params: OptionChainParamsDto, @Query() query: OptionChainQueryDto): Promise<OptionChainDto> {
    return this.chains.chain(params.underlying, query.expiry, query.at);
  }
}
