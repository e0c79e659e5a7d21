import { Controller, Get, Header, Query, UseFilters } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import {
  UdfConfigDto,
  UdfErrorDto,
  UdfHistoryDto,
  UdfHistoryQueryDto,
  UdfSearchQueryDto,
  UdfSearchResultDto,
  UdfSymbolInfoDto,
  UdfSymbolQueryDto,
} from './dto/udf.dto';
import { UdfExceptionFilter } from './udf-exception.filter';
import { UdfService } from './udf.service';
import { AdmittedRead } from '../database/read-admission';

// Charting front ends are often served from another origin; everything here is a read.
const ANY_ORIGIN = ['Access-Control-Allow-Origin', '*'] as const;

/** TradingView's UDF datafeed protocol: any UDF client plots the candles with no glue code. */
@ApiTags('udf')
@Controller('udf')
@UseFilters(UdfExceptionFilter)
export class UdfController {
  constructor(private readonly udf: UdfService) {}

  @Get('config')
  @Header(...ANY_ORIGIN)
  @ApiOperation({ summary: 'UDF datafeed configuration: resolutions, search and server time supported' })
  @ApiOkResponse({ type: UdfConfigDto })
  config(): UdfConfigDto {
    return this.udf.config();
  }

  @Get('time')
  @Header(...ANY_ORIGIN)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({ summary: 'Server (market clock) time, epoch seconds, as plain text' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ schema: { type: 'string', example: '1762250400' } })
  time(): string {
    return String(this.udf.time());
  }

  @Get('symbols')
  @AdmittedRead()
  @Header(...ANY_ORIGIN)
  @ApiOperation({
    summary: 'Symbol information: NFO/NSE, Asia/Kolkata, session 0915-1530 with holidays and corrections',
  })
  @ApiOkResponse({ type: UdfSymbolInfoDto })
  @ApiBadRequestResponse({ type: UdfErrorDto, description: 'Malformed symbol' })
  @ApiNotFoundResponse({ type: UdfErrorDto, description: 'Unknown symbol' })
  symbols(@Query() query: UdfSymbolQueryDto): Promise<UdfSymbolInfoDto> {
    return this.udf.symbolInfo(query.symbol);
  }

  @Get('search')
  @AdmittedRead()
  @Header(...ANY_ORIGIN)
  @ApiOperation({ summary: 'Instruments whose tradingsymbol contains the query (starting with it first)' })
  @ApiOkResponse({ type: [UdfSearchResultDto] })
  @ApiBadRequestResponse({ type: UdfErrorDto })
  search(@Query() query: UdfSearchQueryDto): Promise<UdfSearchResultDto[]> {
    return this.udf.search(query);
  }

  @Get('history')
  @AdmittedRead()
  @Header(...ANY_ORIGIN)
  @ApiOperation({
    summary:
      'Bars {s:"ok",t,o,h,l,c,v} from the candles API aggregation, or {s:"no_data",nextTime}; range bounds as the candles API',
  })
  @ApiOkResponse({ type: UdfHistoryDto })
  @ApiBadRequestResponse({ type: UdfErrorDto, description: 'Bad symbol, resolution, from, to or countback' })
  @ApiNotFoundResponse({ type: UdfErrorDto, description: 'Unknown symbol' })
  history(@Query() query: UdfHistoryQueryDto): Promise<UdfHistoryDto> {
    return this.udf.history(query);
  }
}
