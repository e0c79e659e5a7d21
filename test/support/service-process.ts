import {
  startServiceProcess as startProcess,
  ServiceProcess,
  ServiceProcessOptions,
} from '../../scripts/support/service-process';
import { forgetResponsesFrom, validateResponsesFrom } from './openapi-responses';

export { freePort } from '../../scripts/support/service-process';
export type { ServiceProcess } from '../../scripts/support/service-process';

/**
 * The service as its own process (scripts/support); once it answers HTTP, every response a test
 * receives from it is validated against its OpenAPI document.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  options: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const service = await startProcess(env, options);
  if (options.entry !== undefined || options.waitForHttp === false) return service;
  validateResponsesFrom(service.url);
  void service.exited.then(() => forgetResponsesFrom(service.url));
  return service;
}
