import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { AppConfig } from '../app.settings';
import { ApiKeyGuard } from './api-key.guard';

function request(headers: Record<string, string | string[] | undefined>): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => ({ headers }) }) } as unknown as ExecutionContext;
}

describe('ApiKeyGuard', () => {
  const guard = (apiKey?: string) => new ApiKeyGuard(Object.assign(new AppConfig(), { API_KEY: apiKey }));

  it('lets every request through when no API_KEY is set', () => {
    expect(guard().canActivate(request({}))).toBe(true);
  });

  it('lets the right key through', () => {
    expect(guard('s3cret').canActivate(request({ 'x-api-key': 's3cret' }))).toBe(true);
  });

  it.each([
    ['no header', {}],
    ['a wrong key', { 'x-api-key': 's3creT' }],
    ['a key of another length', { 'x-api-key': 's3cret!' }],
    ['a repeated header', { 'x-api-key': ['s3cret', 's3cret'] }],
  ])('refuses %s with 401', (_, headers) => {
    expect(() => guard('s3cret').canActivate(request(headers))).toThrow(UnauthorizedException);
  });
});
