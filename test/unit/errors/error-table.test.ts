import { join } from 'node:path';
import ts from 'typescript';
import { ERROR_TABLE } from '../../../src/error-table';

const ROOT = join(__dirname, '../../..');
const ERRORS_FILE = join(ROOT, 'src/domain/errors.ts');
const TABLE_FILE = join(ROOT, 'src/error-table.ts');

/** Type-checks the error table as the compiler sees it, with `src/domain/errors.ts` rewritten by `edit`. */
function tableDiagnostics(edit: (source: string) => string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!parsed) throw new Error('tsconfig.json does not parse');
  const host = ts.createCompilerHost(parsed.options);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => {
    const text = readFile(fileName);
    return text !== undefined && ts.sys.resolvePath(fileName) === ts.sys.resolvePath(ERRORS_FILE) ? edit(text) : text;
  };
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError) => {
    if (ts.sys.resolvePath(fileName) !== ts.sys.resolvePath(ERRORS_FILE)) return getSourceFile(fileName, languageVersion, onError);
    return ts.createSourceFile(fileName, host.readFile(fileName)!, languageVersion, true);
  };
  const program = ts.createProgram({ rootNames: [TABLE_FILE], options: { ...parsed.options, noEmit: true }, host });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

describe('the error table', () => {
  it('given the error codes as they are, then the table type-checks', () => {
    expect(tableDiagnostics((source) => source)).toEqual([]);
  }, 120_000);

  it('given a new error code with no row, then the type check fails naming it', () => {
    const diagnostics = tableDiagnostics((source) => {
      const edited = source.replace("  | 'INTERNAL_SERVER_ERROR';", "  | 'INTERNAL_SERVER_ERROR'\n  | 'PAYMENT_REQUIRED';");
      if (edited === source) throw new Error('the ErrorCode union is no longer where this test looks for it');
      return edited;
    });
    expect(diagnostics.join('\n')).toContain('PAYMENT_REQUIRED');
  }, 120_000);

  it('gives every code a row for every transport', () => {
    for (const row of Object.values(ERROR_TABLE)) {
      expect(Object.keys(row).sort()).toEqual(['graphql', 'httpStatus', 'oauth', 'sunshine', 'webSocket', 'zipteams', 'zis']);
    }
  });
});
