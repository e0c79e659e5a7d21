import { Server } from 'node:http';
import { INestApplication, Logger, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions } from '@nestjs/microservices';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { AppConfig } from './app.settings';
import { LoadedConfig } from './config/config.loader';
import { Clock } from './contracts/market-time';
import { DeclaredInputInterceptor } from './common/declared-input.interceptor';
import { UnavailableInterceptor } from './common/unavailable.interceptor';
import { createLogger } from './common/logger';
import { createValidationPipe } from './common/validation';
import { completeOpenApiDocument, ERROR_MODELS } from './openapi-document';
import { SubscriptionEventsTransport } from './subscription-events/subscription-events.transport';

export interface CreateAppOptions {
  clock?: Clock;
  logger?: LoggerService;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = new DocumentBuilder()
    .setTitle('NIFTY market data')
    .setDescription(
      'Complete 1-minute history of every instrument the ticker service subscribes, kept in TimescaleDB. ' +
        'Times are UTC ISO-8601; JSON fields are snake_case.',
    )
    .setVersion('1')
    .addTag('candles', 'Stored 1-minute candles, aggregated to any interval')
    .addTag('options', 'The option chain of one minute')
    .addTag('backfill', 'Backfill jobs and the coverage they leave')
    .addTag('subscriptions', "The service's view of each subscribed instrument")
    .addTag('config', 'Effective settings and flags')
    .addTag('udf', "TradingView's UDF datafeed, with the protocol's own error shape")
    .addTag('ui', 'The chart and coverage page and its assets')
    .addTag('operations', 'Health and metrics')
    // Relative: the document is right wherever the service is reached (port-forward, ingress, pod).
    .addServer('/')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
    .build();
  return completeOpenApiDocument(SwaggerModule.createDocument(app, document, { extraModels: ERROR_MODELS }));
}

/**
 * Idle keep-alive connections are kept a minute, past the usual 60 s idle timeout of a load balancer
 * in front, instead of Node's 5 s: a connection the server closes while a client (or the balancer)
 * sends its next request on it ends that request with ECONNRESET, and under load, when timers fire
 * late, that race is common; every reconnect then also costs an accept on a busy event loop.
 */
function keepConnections(server: Server): void {
  server.keepAliveTimeout = 65_000;
  // Must exceed keepAliveTimeout, or a request arriving late on an idle connection is cut short.
  server.headersTimeout = 66_000;
}

/**
 * Builds the hybrid application: HTTP (REST, health, metrics, docs) plus the Redis transport that
 * carries subscription events. The caller listens on HTTP before starting the microservice.
 */
export async function createApp(
  loaded: LoadedConfig<AppConfig>,
  options: CreateAppOptions = {},
): Promise<INestApplication> {
  const { config } = loaded;
  const logger = options.logger ?? createLogger(config);
  const app = await NestFactory.create(AppModule.forRoot(loaded, options.clock), {
    logger,
    abortOnError: false,
  });
  app.useGlobalInterceptors(new DeclaredInputInterceptor(), app.get(UnavailableInterceptor));
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  keepConnections(app.getHttpServer() as Server);
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });

  const log = new Logger('Bootstrap');
  if (config.SUBSCRIPTION_EVENTS_ENABLED) {
    // A strategy of our own (see SubscriptionEventsTransport): the channel is configuration, a Redis
    // that is down at boot must not fail the boot, and reconnects must re-subscribe forever.
    // Without the HTTP application's pipes and interceptors: the handler takes the raw text and
    // validates it itself, and an interceptor chain per message (Nest binds an async resource for
    // each interceptor) was more than half the CPU time of a burst of events, with its garbage.
    app.connectMicroservice<MicroserviceOptions>(
      { strategy: app.get(SubscriptionEventsTransport) },
      { inheritAppConfig: false },
    );
  } else {
    log.log(
      'SUBSCRIPTION_EVENTS_ENABLED=false: not subscribing to subscription events (reconciliation still runs)',
    );
  }
  return app;
}
