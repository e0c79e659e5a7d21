import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeyGuard } from '../common/api-key.guard';
import { BackfillQueueService } from './backfill-queue.service';
import { BackfillStatusService } from './backfill-status.service';
import { BackfillQueueDto } from './dto/backfill-queue.dto';
import {
  BackfillAcceptedDto,
  BackfillJobDto,
  BackfillJobListDto,
  BackfillJobListQueryDto,
  CoverageDto,
  InstrumentTokenParamDto,
  JobIdParamDto,
  ManualBackfillDto,
} from './dto/backfill.dto';
import { AdmittedRead } from '../database/read-admission';

@ApiTags('backfill')
@Controller('api/v1')
export class BackfillController {
  constructor(
    private readonly status: BackfillStatusService,
    private readonly queue: BackfillQueueService,
  ) {}

  @Post('backfill')
  @HttpCode(202)
  @UseGuards(ApiKeyGuard)
  @ApiSecurity('api-key')
  @ApiOperation({ summary: 'Queue a backfill of one instrument (the uncovered lookback, or a window)' })
  @ApiAcceptedResponse({ type: BackfillAcceptedDto })
  @ApiBadRequestResponse({ description: 'Bad token or window' })
  @ApiUnauthorizedResponse({ description: 'X-API-Key missing or wrong (when API_KEY is set)' })
  request(@Body() body: ManualBackfillDto): Promise<BackfillAcceptedDto> {
    return this.status.requestManual(body);
  }

  @Get('backfill/jobs')
  @AdmittedRead()
  @ApiOperation({ summary: 'Backfill job records, newest first' })
  @ApiOkResponse({ type: BackfillJobListDto })
  @ApiBadRequestResponse({
    description: 'A bad instrument_token, state, trigger, limit or offset, with the field named',
  })
  jobs(@Query() query: BackfillJobListQueryDto): Promise<BackfillJobListDto> {
    return this.status.jobs(query);
  }

  @Get('backfill/queue')
  @ApiOperation({
    summary:
      'The queue at a glance: jobs by queue state, outcomes, candles written, time to data, circuit, subscriptions, stream bars (the numbers of /metrics, as JSON)',
  })
  @ApiOkResponse({ type: BackfillQueueDto })
  queueSnapshot(): Promise<BackfillQueueDto> {
    return this.queue.snapshot();
  }

  @Get('backfill/jobs/:id')
  @AdmittedRead()
  @ApiOperation({ summary: 'One backfill job: trigger, window, state, attempts, rows, duration, error' })
  @ApiOkResponse({ type: BackfillJobDto })
  @ApiNotFoundResponse({ description: 'No such job' })
  @ApiBadRequestResponse({ description: 'Not a job id' })
  job(@Param() params: JobIdParamDto): Promise<BackfillJobDto> {
    return this.status.job(params.id);
  }

  @Get('instruments/:token/coverage')
  @AdmittedRead()
  @ApiOperation({ summary: 'Covered ranges, gaps, last candle and unsupported state of an instrument' })
  @ApiOkResponse({ type: CoverageDto })
  @ApiBadRequestResponse({ description: 'Bad token' })
  coverage(@Param() params: InstrumentTokenParamDto): Promise<CoverageDto> {
    return this.status.coverage(params.token);
  }
}
