import { ServerResponse } from 'node:http';
import { Controller, Get, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { AdmittedRead } from '../database/read-admission';
import { ExportCandlesQueryDto } from './dto/export.dto';
import { CONTENT_TYPES } from './export-formats';
import { ExportService } from './export.service';

const FILE = { schema: { type: 'string', format: 'binary' } };

@ApiTags('candles')
@Controller('api/v1/export')
export class ExportController {
  constructor(private readonly exports: ExportService) {}

  @Get('candles')
  @AdmittedRead()
  @ApiOperation({
    summary:
      'Candles of many instruments as one CSV or Parquet file, at any interval of the candles API, greeks included',
    description:
      'Rows are ordered by instrument_token, then time, and equal the candles API row for row. The file is ' +
      'streamed as it is read; a failure after the first byte cuts the response short (no final chunk).',
  })
  @ApiProduces(...Object.values(CONTENT_TYPES).map((type) => type.split(';')[0]))
  @ApiOkResponse({
    description: 'The file, named in Content-Disposition',
    headers: {
      'Content-Disposition': {
        description: 'attachment; filename="candles_<selection>_<interval>_<start>_<end>.<format>"',
        schema: { type: 'string' },
      },
    },
    content: { 'text/csv': FILE, 'application/vnd.apache.parquet': FILE },
  })
  @ApiBadRequestResponse({
    description:
      'Bad selection, interval or window (longer than the interval allows), or too many instruments',
  })
  @ApiNotFoundResponse({ description: 'No instrument of the underlying and/or expiry' })
  async candles(@Query() query: ExportCandlesQueryDto, @Res() response: ServerResponse): Promise<void> {
    await this.exports.send(await this.exports.open(query), response);
  }
}
