/** Shared conversions of environment text and rule options for the settings classes of every feature. */

export const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  return value;
};

export const toNumber = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  return value.trim() === '' ? value : Number(value);
};

export const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    : value;

export const BOOLEAN = { message: '$property must be true or false' };
export const URL_OPTIONS = { require_tld: false, require_protocol: true };
