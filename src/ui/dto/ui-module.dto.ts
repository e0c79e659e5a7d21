import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { UI_MODULES, UiModule } from '../ui-assets.service';

export class UiModuleParamDto {
  @ApiProperty({ enum: UI_MODULES, example: 'api.js', description: 'A module of the page' })
  @IsIn(UI_MODULES)
  name!: UiModule;
}
