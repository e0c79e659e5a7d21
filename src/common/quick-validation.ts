import { getMetadataStorage, ValidationArguments, ValidationTypes } from 'class-validator';
import { ConstraintMetadata } from 'class-validator/types/metadata/ConstraintMetadata';
import { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

type Check = (object: object) => boolean;
type Constructor = abstract new (...args: never[]) => unknown;

interface PropertyChecks {
  property: string;
  /** `@IsOptional()` and the like: when one says no, the property is not validated at all. */
  conditions: ((object: object, value: unknown) => boolean)[];
  constraints: { metadata: ValidationMetadata; constraint: ConstraintMetadata }[];
  nested: boolean;
}

const compiled = new Map<Constructor, Check>();

/**
 * Whether `object` passes class-validator's `validateSync(object, { forbidUnknownValues: false })`,
 * for the decorators a hot path uses (conditions such as `@IsOptional`, synchronous constraints,
 * `@ValidateNested` of single objects): the same constraint functions and arguments, run from a
 * list built once per class instead of the validator looking up, grouping and filtering the
 * metadata of every class on each call (about ten times the cost for a small DTO). It only says
 * yes or no; a caller that needs the reasons runs `validateSync`. Where the compiled list cannot
 * decide (arrays or sets under `@ValidateNested`), it answers no, so the caller's full validation
 * decides. Decorators it does not know make the compilation throw.
 */
export function passesValidation(object: object): boolean {
  const target = object.constructor as Constructor;
  let check = compiled.get(target);
  if (!check) {
    check = compile(target);
    compiled.set(target, check);
  }
  return check(object);
}

function compile(target: Constructor): Check {
  const storage = getMetadataStorage();
  const grouped = storage.groupByPropertyName(
    storage.getTargetValidationMetadatas(target, undefined as unknown as string, false, false),
  );
  const properties: PropertyChecks[] = Object.entries(grouped).map(([property, metadatas]) => {
    const checks: PropertyChecks = { property, conditions: [], constraints: [], nested: false };
    for (const metadata of metadatas) {
      if (metadata.each) throw new Error(`${target.name}.${property}: 'each' validation is not compiled`);
      if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION)
        checks.conditions.push(metadata.constraints[0] as PropertyChecks['conditions'][number]);
      else if (metadata.type === ValidationTypes.NESTED_VALIDATION) checks.nested = true;
      else if (metadata.type === ValidationTypes.CUSTOM_VALIDATION)
        for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
          if (constraint.async)
            throw new Error(`${target.name}.${property}: async constraints are not compiled`);
          checks.constraints.push({ metadata, constraint });
        }
      else throw new Error(`${target.name}.${property}: validation type ${metadata.type} is not compiled`);
    }
    return checks;
  });
  return (object) => {
    const record = object as Record<string, unknown>;
    for (const { property, conditions, constraints, nested } of properties) {
      const value = record[property];
      if (!conditions.every((condition) => condition(object, value))) continue;
      for (const { metadata, constraint } of constraints) {
        const args: ValidationArguments = {
          targetName: target.name,
          property,
          object,
          value,
          constraints: metadata.constraints,
        };
        if (!constraint.instance.validate(value, args)) return false;
      }
      if (nested && value !== undefined) {
        if (
          !(value instanceof Object) ||
          Array.isArray(value) ||
          value instanceof Set ||
          value instanceof Map
        )
          return false;
        if (!passesValidation(value)) return false;
      }
    }
    return true;
  };
}
