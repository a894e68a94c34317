/**
 * Every function the `biflow` entry exports carries an `@example` with a fenced ```ts block that
 * imports from 'biflow' and type-checks against the sources, as a user would paste it.
 */
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Example { fn: string; code: string }

function compilerOptions(): ts.CompilerOptions {
  const file = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(file.config, ts.sys, ROOT);
  // Examples may name a result only to show it; resolve 'biflow' to the sources, not dist/.
  return { ...parsed.options, noUnusedLocals: false, noEmit: true, baseUrl: ROOT, paths: { biflow: ['src/index.ts'], 'biflow/browser': ['src/browser.ts'] } };
}

/** The exported functions of src/index.ts with the fenced code of each `@example`. */
function exportedFunctions(program: ts.Program): Map<string, string[]> {
  const checker = program.getTypeChecker();
  const entry = checker.getSymbolAtLocation(program.getSourceFile(path.join(ROOT, 'src/index.ts'))!)!;
  const out = new Map<string, string[]>();
  for (const s of checker.getExportsOfModule(entry)) {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    if (!(target.flags & ts.SymbolFlags.Function)) continue;
    const blocks = target.getJsDocTags(checker).filter((t) => t.name === 'example').flatMap((t) => {
      const body = ts.displayPartsToString(t.text);
      return [...body.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    });
    out.set(s.name, blocks);
  }
  return out;
}

describe('API examples', () => {
  const options = compilerOptions();
  const base = ts.createProgram([path.join(ROOT, 'src/index.ts')], options);
  const functions = exportedFunctions(base);

  it('every exported function has a fenced ts @example', () => {
    expect(functions.size).toBeGreaterThan(30);
    const missing = [...functions].filter(([, blocks]) => blocks.length === 0).map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('each example type-checks as a module importing from biflow', () => {
    const examples: Example[] = [...functions].flatMap(([fn, blocks]) => blocks.map((code) => ({ fn, code })));
    const files = new Map(examples.map((e, k) => [path.join(ROOT, 'test/docs', `example-${k}-${e.fn}.ts`), e]));
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    const getSourceFile = host.getSourceFile.bind(host);
    host.readFile = (f) => files.get(f)?.code ?? readFile(f);
    host.fileExists = (f) => files.has(f) || fileExists(f);
    host.getSourceFile = (f, lang, ...rest) => (files.has(f) ? ts.createSourceFile(f, files.get(f)!.code, lang, true) : getSourceFile(f, lang, ...rest));
    const program = ts.createProgram([...files.keys()], options, host, base);
    const errors = [...files].flatMap(([f, e]) => ts.getPreEmitDiagnostics(program, program.getSourceFile(f)).map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
      return `${e.fn} (example line ${line}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    }));
    expect(errors).toEqual([]);
  }, 120_000);
});
