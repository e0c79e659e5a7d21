import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import madge from 'madge';

// The shape of the source, checked on every run: no file imports its way back to itself, no folder
// imports a folder that imports it back (a module depends on the ones below it, never up), and no
// file grows past what one reader holds in mind.

const SRC = join(__dirname);
const MAX_LINES = 400;

/** The top-level room of a path relative to src/: its folder, or the file itself at the top. */
function roomOf(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? path : path.slice(0, slash);
}

/** One cycle of `graph` as a path (first node repeated at the end), or undefined when it has none. */
export function findCycle(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('the shape of src/', () => {
  let files: Record<string, string[]>;

  beforeAll(async () => {
    const result = await madge(SRC, {
      fileExtensions: ['ts'],
      tsConfig: join(SRC, '..', 'tsconfig.json'),
      excludeRegExp: [/\.spec\.ts$/, /\.d\.ts$/],
      detectiveOptions: { ts: { skipTypeImports: false } },
    });
    files = result.obj();
  }, 60_000);

  it('reads the import graph (a check that found no files would pass anything)', () => {
    expect(Object.keys(files).length).toBeGreaterThan(100);
    expect(files['app.module.ts']).toEqual(expect.arrayContaining(['backfill/backfill.module.ts']));
  });

  it('has no circle of imports between files', () => {
    const graph = new Map(Object.entries(files).map(([file, deps]) => [file, new Set(deps)]));
    expect(findCycle(graph)).toBeUndefined();
  });

  it('has no import back up: the folders form a hierarchy, none reached again from below', () => {
    const rooms = new Map<string, Set<string>>();
    const examples = new Map<string, string>();
    for (const [file, deps] of Object.entries(files)) {
      for (const dep of deps) {
        // Files outside src/ (the simulator, scripts' shared helpers) are not rooms of the service.
        if (dep.startsWith('..')) continue;
        const [from, to] = [roomOf(file), roomOf(dep)];
        if (from === to) continue;
        if (!rooms.has(from)) rooms.set(from, new Set());
        rooms.get(from)!.add(to);
        examples.set(`${from}>${to}`, `${file} imports ${dep}`);
      }
    }
    const cycle = findCycle(rooms);
    const imports = cycle?.slice(1).map((to, i) => examples.get(`${cycle[i]}>${to}`));
    expect(imports).toBeUndefined();
  });

  it(`has no file over ${MAX_LINES} lines, migrations aside`, () => {
    const long = Object.keys(files)
      .concat(Object.keys(files).flatMap((file) => [file.replace(/\.ts$/, '.spec.ts')]))
      .filter((file, i, all) => all.indexOf(file) === i && !file.startsWith('database/migrations/'))
      .flatMap((file) => {
        let text: string;
        try {
          text = readFileSync(join(SRC, file), 'utf8');
        } catch {
          return [];
        }
        const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
        return lines > MAX_LINES ? [`${relative(SRC, join(SRC, file))}: ${lines} lines`] : [];
      });
    expect(long).toEqual([]);
  });

  it('finds a circle where there is one', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(findCycle(graph)).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([['a', new Set(['b'])], ['b', new Set<string>()]]))).toBeUndefined();
  });
});
