import { Module } from '@nestjs/common';
import { UiAssetsService } from './ui-assets.service';
import { UiController } from './ui.controller';

/** The chart and coverage page, a client of the read API like any other (see README, "The page"). */
@Module({
  controllers: [UiController],
  providers: [UiAssetsService],
})
export class UiModule {}
