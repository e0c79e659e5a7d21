/**
 * True when some value inside `root` lies deeper than `max` levels (`root` itself, when an object or
 * an array, is level 1). Iterative: it is what stands between a parsed JSON value and the code that
 * walks values recursively (class-transformer, a nested validation, a logger's formatter), which
 * goes one stack frame per level, so a few kilobytes of `[[[[...]]]]` would overflow the stack.
 */
export function deeperThan(root: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}
