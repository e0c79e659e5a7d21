import { applyDecorators, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { buildMessage, IsInt, Max, Min, ValidateBy, ValidationOptions } from 'class-validator';
import { isCalendarDate, parseDecimalInteger, parseInstant } from './strict-values';

export interface FieldError {
  field: string;
  message: string;
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** 400 with one entry per bad field: `{statusCode, error, message, errors: [{field, message}]}`. */
export function badRequest(fieldErrors: FieldError[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors: fieldErrors,
  });
}

/** A 400 for one field that passed the DTO's checks but not a rule across fields. */
export function badField(field: string, message: string): BadRequestException {
  return badRequest([{ field, message }]);
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    // One message per field: a string given for a number is "not an integer", not also "out of range".
    stopAtFirstError: true,
    exceptionFactory: (errors) => badRequest(flatten(errors)),
  });
}

const INSTANT_HINT =
  'an ISO-8601 instant with Z or an offset, e.g. 2025-11-03T09:15:00+05:30, from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999+05:30';

/**
 * An instant that exists, with an explicit offset (`parseInstant`): a zone-less time would be read
 * in the server's own zone, and week or ordinal dates pass IsISO8601 but are not dates at all.
 */
export function IsInstant(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isInstant',
      validator: {
        validate: (value: unknown) => parseInstant(value) !== undefined,
        defaultMessage: buildMessage((each) => `${each}$property must be ${INSTANT_HINT}`),
      },
    },
    options,
  );
}

/** A calendar date `YYYY-MM-DD` that exists (no 2025-13-45, no 2025-02-29). */
export function IsCalendarDate(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isCalendarDate',
      validator: {
        validate: (value: unknown) => isCalendarDate(value),
        defaultMessage: buildMessage((each) => `${each}$property must be a date YYYY-MM-DD that exists`),
      },
    },
    options,
  );
}

/**
 * A query or path integer in [min, max]. The text must be plain decimal digits (`parseDecimalInteger`):
 * `1e20`, `0x10`, ` 12`, `12.0`, `-0` are refused rather than read as numbers. A JSON body's number
 * is checked as it is (never converted from a string). Bounds are what the column and a JS number hold.
 */
export function IntegerParam(min: number, max: number): PropertyDecorator {
  const message = { message: `$property must be an integer from ${min} to ${max}` };
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' ? (parseDecimalInteger(value) ?? value) : value,
    ),
    IsInt(message),
    Min(min, message),
    Max(max, message),
  );
}
