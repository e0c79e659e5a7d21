import { INestApplication, Logger, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { Clock } from './contracts/market-time';
import { createLogger } from './common/logger';
import { createValidationPipe } from './common/validation';

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
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
    .build();
  return SwaggerModule.createDocument(app, document);
}

/**
 * Builds the hybrid application: HTTP (REST, health, metrics, docs) plus the Redis transport that
 * carries subscription events. The caller listens on HTTP before starting the microservice.
 */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<INestApplication> {
  const logger = options.logger ?? createLogger(config);
  const app = await NestFactory.create(AppModule.forRoot(config, options.clock), {
    logger,
    abortOnError: false,
  });
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });

  const log = new Logger('Bootstrap');
  if (config.SUBSCRIPTION_EVENTS_ENABLED) {
    const url = new URL(config.REDIS_URL);
    app.connectMicroservice<MicroserviceOptions>(
      {
        transport: Transport.REDIS,
        options: {
          host: url.hostname,
          port: Number(url.port || 6379),
          username: url.username || undefined,
          password: url.password ? decodeURIComponent(url.password) : undefined,
          db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined,
          // The transport gives up after a few retries by default; a Redis restart must be survived.
          retryAttempts: Number.MAX_SAFE_INTEGER,
          retryDelay: 1000,
        },
      },
      { inheritAppConfig: true },
    );
  } else {
    log.log(
      'SUBSCRIPTION_EVENTS_ENABLED=false: not subscribing to subscription events (reconciliation still runs)',
    );
  }
  return app;
}
