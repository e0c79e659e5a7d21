import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FieldError } from '../common/validation';
import { UdfErrorDto } from './dto/udf.dto';

/** The field errors of a validation 400 (`badRequest`), kept beside `errmsg` for clients that read them. */
function fieldErrorsOf(exception: HttpException): FieldError[] | undefined {
  const body = exception.getResponse();
  const errors = typeof body === 'object' ? (body as { errors?: unknown }).errors : undefined;
  return Array.isArray(errors) ? (errors as FieldError[]) : undefined;
}

function messageOf(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

/**
 * UDF clients read `{s: "error", errmsg}`; the rest of the API keeps its own error shape, so this
 * filter is bound to the UDF controller only. The HTTP status stays (400 for a bad parameter, 404 for
 * an unknown symbol); an unexpected error is logged once and becomes a 500 in the same shape.
 */
@Catch()
export class UdfExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('UdfController');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const context = host.switchToHttp();
    const response: unknown = context.getResponse();
    let status: number;
    let errmsg: string;
    let errors: FieldError[] | undefined;
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      errmsg = messageOf(exception);
      errors = fieldErrorsOf(exception);
    } else {
      status = HttpStatus.INTERNAL_SERVER_ERROR;
      errmsg = 'internal error';
      const request = context.getRequest<{ url?: string }>();
      this.logger.error(
        `${request.url ?? 'udf request'} failed: ${(exception as Error)?.stack ?? String(exception)}`,
      );
    }
    const body: UdfErrorDto = { s: 'error', errmsg, ...(errors ? { errors } : {}) };
    httpAdapter.setHeader(response, 'Access-Control-Allow-Origin', '*');
    httpAdapter.reply(response, body, status);
  }
}
