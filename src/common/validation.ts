import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

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
    exceptionFactory: (errors) => badRequest(flatten(errors)),
  });
}
