import { Controller, Get, Header, Param, Redirect } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { UiModuleParamDto } from './dto/ui-module.dto';
import { UiAssetsService } from './ui-assets.service';

// Everything the page loads comes from this service: the policy makes the browser refuse anything else.
// The chart library sets style attributes on the elements it creates, hence 'unsafe-inline' for styles.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'self'",
].join('; ');

/** The page at `/ui` and its assets, all served from this process (no CDN). */
@ApiTags('ui')
@Controller()
export class UiController {
  constructor(private readonly assets: UiAssetsService) {}

  @Get()
  @Redirect('/ui/', 302)
  @ApiOperation({ summary: 'Redirects to the page at /ui/' })
  @ApiFoundResponse({
    description: 'The page is at /ui/',
    headers: { Location: { description: 'Always /ui/', schema: { type: 'string', enum: ['/ui/'] } } },
  })
  root(): void {}

  @Get('ui')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: 'The chart and coverage page' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'HTML', schema: { type: 'string' } })
  page(): string {
    return this.assets.get('index.html');
  }

  @Get('ui/app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: "The page's entry script (an ES module that imports those under /ui/modules/)" })
  @ApiProduces('text/javascript')
  @ApiOkResponse({ schema: { type: 'string' } })
  script(): string {
    return this.assets.get('app.js');
  }

  @Get('ui/modules/:name')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: "One of the page's ES modules, by concern (API, chart, tables, queue, ...)" })
  @ApiProduces('text/javascript')
  @ApiOkResponse({ schema: { type: 'string' } })
  @ApiBadRequestResponse({ description: 'Not one of the modules' })
  module(@Param() params: UiModuleParamDto): string {
    return this.assets.get(`modules/${params.name}`);
  }

  @Get('ui/style.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: "The page's style sheet" })
  @ApiProduces('text/css')
  @ApiOkResponse({ schema: { type: 'string' } })
  style(): string {
    return this.assets.get('style.css');
  }

  @Get('ui/vendor/lightweight-charts.mjs')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=86400')
  @ApiOperation({ summary: 'TradingView Lightweight Charts, standalone production build (Apache-2.0)' })
  @ApiProduces('text/javascript')
  @ApiOkResponse({ schema: { type: 'string' } })
  chartLibrary(): string {
    return this.assets.get('lightweight-charts.mjs');
  }
}
