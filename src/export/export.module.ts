import { Module } from '@nestjs/common';
import { ExportController } from './export.controller';
import { ExportRepository } from './export.repository';
import { ExportService } from './export.service';

/** Files of stored candles (CSV, Parquet) for research tools; reads only, on the read pool. */
@Module({
  controllers: [ExportController],
  providers: [ExportRepository, ExportService],
})
export class ExportModule {}
