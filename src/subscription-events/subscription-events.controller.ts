import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { SUBSCRIPTION_EVENTS_PATTERN } from './subscription-events.constants';
import { SubscriptionEventsService } from './subscription-events.service';

/** `${REDIS_CHANNEL_PREFIX}:events`, mapped onto a constant pattern by the transport. */
@Controller()
export class SubscriptionEventsController {
  constructor(private readonly events: SubscriptionEventsService) {}

  // The payload is the raw text of the message: parsing it is part of validating it.
  @EventPattern(SUBSCRIPTION_EVENTS_PATTERN)
  handle(@Payload() raw: unknown): Promise<void> {
    return this.events.receive(raw);
  }
}
