import { ApiProperty } from '@nestjs/swagger';

/**
 * The error bodies the REST routes send, as the OpenAPI document describes them once
 * (`completeOpenApiDocument` refers every operation to them). UDF routes keep their own
 * `{s: "error", errmsg}` (UdfErrorDto).
 */

export class FieldErrorDto {
  @ApiProperty({ example: 'interval' }) field!: string;
  @ApiProperty({ example: 'interval must be one of the following values: 1m, 3m, 5m, 10m, 15m, 30m, 1h, 1d' })
  message!: string;
}

/** 400: a bad parameter or body (the validation pipe, `badRequest`), or a body that is not JSON. */
export class ValidationErrorDto {
  @ApiProperty({ type: 'integer', enum: [400], example: 400 }) statusCode!: number;
  @ApiProperty({ enum: ['Bad Request'] }) error!: string;
  @ApiProperty({
    description: 'Every field error as `field: message`, joined by `; `',
    example: 'interval: interval must be one of the following values: 1m, 3m, 5m, 10m, 15m, 30m, 1h, 1d',
  })
  message!: string;
  @ApiProperty({
    type: [FieldErrorDto],
    required: false,
    description: 'One entry per bad field; absent only when the body is not JSON at all',
  })
  errors?: FieldErrorDto[];
}

/** 401, 404: Nest's HttpException body. */
export class HttpErrorDto {
  @ApiProperty({ type: 'integer', example: 404 }) statusCode!: number;
  @ApiProperty({ example: 'Not Found' }) error!: string;
  @ApiProperty({ example: 'no backfill job bf-13660418-1-2' }) message!: string;
}

/** 413: the JSON body parser's refusal (its limit is 100 kB), as Nest passes it on. */
export class PayloadTooLargeErrorDto {
  @ApiProperty({ type: 'integer', enum: [413], example: 413 }) statusCode!: number;
  @ApiProperty({ example: 'request entity too large' }) message!: string;
}

/** 503: a dependency (PostgreSQL, Redis) is down or reads are over capacity; see `Retry-After`. */
export class ServiceUnavailableErrorDto {
  @ApiProperty({ type: 'integer', enum: [503], example: 503 }) statusCode!: number;
  @ApiProperty({ enum: ['Service Unavailable'] }) error!: string;
  @ApiProperty({ example: 'the database is unavailable; try again later' }) message!: string;
}
