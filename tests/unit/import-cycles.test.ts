// No import cycles in the product's code: a cycle makes a module's exports undefined while its partner loads
// (depending on which one is imported first) and ties two files that should be read apart. The graph is every
// import of a file: static, type-only, re-exports, dynamic import() and require() of a relative path, resolved as
// the compiler resolves them (tsconfig.json). The test fails printing each cycle as a path of files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
/** The folders and files whose imports must not loop. */
const ROOTS = ['src', 'activities', 'workflows', 'temporal', 'bench', 'scripts', 'cli.ts', 'worker.ts'];
/** Cycles tolerated for now, each as its files in order starting from the alphabetically first: none. */
const ALLOWED_CYCLES: readonly string[][] = [];

function sourceFiles(entry: string): string[] {
  const full = path.join(ROOT, entry);
  if (statSync(full).isFile()) return full.endsWith('.ts') && !full.endsWith('.d.ts') ? [full] : [];
  return readdirSync(full).flatMap((name) => sourceFiles(path.join(entry, name)));
}

/** The module specifiers a file imports, in any form. */
function specifiers(file: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** file -> the project files it imports (absolute paths; packages and Node built-ins left out). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const configPath = path.join(ROOT, 'tsconfig.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const source = ts.createSourceFile(file, ts.sys.readFile(file) ?? '', ts.ScriptTarget.ES2022, true);
    const targets = new Set<string>();
    for (const spec of specifiers(source)) {
      const resolved = ts.resolveModuleName(spec, file, options, ts.sys).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport || resolved.resolvedFileName.includes(`${path.sep}node_modules${path.sep}`)) continue;
      targets.add(path.resolve(resolved.resolvedFileName));
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Every elementary cycle would be too many to print; one cycle per strongly connected component names the knot. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indexOf.has(v)) connect(v);
  return components.map((component) => cycleWithin(graph, new Set(component)));
}

/** A shortest cycle through the component's first file (alphabetically), by breadth-first search inside it. */
function cycleWithin(graph: ReadonlyMap<string, readonly string[]>, component: ReadonlySet<string>): string[] {
  const start = [...component].sort()[0]!;
  const parent = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const cycle = [v];
        while (cycle[0] !== start) cycle.unshift(parent.get(cycle[0]!)!);
        return cycle;
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

test('findCycles finds a loop and its files, and none in a tree', () => {
  const tree = new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]);
  assert.deepEqual(findCycles(tree), []);
  const looped = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []], ['e', ['e']]]);
  assert.deepEqual(findCycles(looped).map((c) => c.join(' -> ')).sort(), ['a -> b -> c', 'e']);
});

test('importGraph sees static, type-only, re-export and dynamic imports', () => {
  const select = path.join(ROOT, 'src/backend/select.ts');
  const index = path.join(ROOT, 'src/backend/index.ts');
  const graph = importGraph([select, index]);
  const relative = (f: string) => path.relative(ROOT, f).split(path.sep).join('/');
  // config/schema is type-only, wasm/threads static, native/kernels dynamic (import()); packages are left out.
  assert.deepEqual(graph.get(select)!.map(relative), [
    'src/backend/native/gpu.ts', 'src/backend/native/kernels.ts', 'src/backend/wasm/adam.ts', 'src/backend/wasm/batch-norm.ts',
    'src/backend/wasm/threads.ts', 'src/backend/wasm/training-kernels.ts', 'src/config/schema.ts',
  ]);
  assert.ok(graph.get(index)!.map(relative).includes('src/backend/select.ts'), 'export ... from is an import');
});

test('the source tree has no import cycle', () => {
  const files = ROOTS.flatMap(sourceFiles);
  assert.ok(files.length > 50, `found only ${files.length} source files under ${ROOTS.join(', ')}`);
  const relative = (f: string) => path.relative(ROOT, f).split(path.sep).join('/');
  const allowed = new Set(ALLOWED_CYCLES.map((c) => c.join(' -> ')));
  const cycles = findCycles(importGraph(files))
    .map((cycle) => cycle.map(relative))
    .filter((cycle) => !allowed.has(cycle.join(' -> ')));
  assert.deepEqual(cycles.map((c) => [...c, c[0]].join(' -> ')), [], `import cycles (each file imports the next):\n${cycles.map((c) => `  ${[...c, c[0]].join(' -> ')}`).join('\n')}`);
});
