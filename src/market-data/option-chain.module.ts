import { Module } from '@nestjs/common';
import { OptionChainController } from './option-chain.controller';
import { OptionChainRepository } from './option-chain.repository';
import { OptionChainService } from './option-chain.service';

/** `GET /api/v1/options/{underlying}/chain`, read from the chain views. */
@Module({
  controllers: [OptionChainController],
  providers: [OptionChainRepository, OptionChainService],
})
export class OptionChainModule {}
