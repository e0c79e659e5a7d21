import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { FoBarBuilder } from './fo-bar.builder';
import { FoStreamFlusher } from './fo-stream.flusher';
import { FoStreamHealthIndicator } from './fo-stream.health';
import { FoStreamService } from './fo-stream.service';
import { FoStreamSubscriber } from './fo-stream.subscriber';

/** Live option, future and index ticks into 1-minute bars (`source = stream`). */
@Module({
  imports: [TerminusModule],
  providers: [
    { provide: FoBarBuilder, useFactory: () => new FoBarBuilder() },
    FoStreamService,
    FoStreamFlusher,
    FoStreamSubscriber,
    FoStreamHealthIndicator,
  ],
  exports: [FoStreamService, FoStreamFlusher, FoStreamSubscriber, FoStreamHealthIndicator],
})
export class FoStreamModule {}
