/**
 * Secrets Manager has one adapter (lib/secrets/secrets-store.ts): no other product file may import a
 * Secrets Manager *Command, so every command the function, the auditor, the CLI and the local world send
 * goes through it. The local world's moto adapter (local/moto-secrets.ts) is the one exception: it works
 * around moto, and only there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCANNED = ['lib', 'cli', 'functions', 'local'];
const ALLOWED = new Set(['lib/secrets/secrets-store.ts', 'local/moto-secrets.ts']);
const PACKAGE = '@aws-sdk/client-secrets-manager';

function sourceFiles(dir: string): string[] {
  const entries = readdirSync(join(ROOT, dir), { withFileTypes: true });
  return entries.flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The Secrets Manager commands (as values) a source text imports or re-exports, and other ways in. */
function commandImports(text: string): string[] {
  const found: string[] = [];
  const quoted = PACKAGE.replace(/[/.-]/g, '\\$&');
  const named = new RegExp(`(?:import|export)\\s+(type\\s+)?\\{([^}]*)\\}\\s*from\\s*['"]${quoted}['"]`, 'g');
  for (const match of text.matchAll(named)) {
    if (match[1]) continue; // `import type { … }`: types only
    for (const raw of (match[2] ?? '').split(',')) {
      const spec = raw.trim();
      if (spec === '' || spec.startsWith('type ')) continue;
      const name = spec.split(/\s+as\s+/)[0]?.trim() ?? '';
      if (/Command$/.test(name)) found.push(name);
    }
  }
  // A namespace, default or dynamic import can reach every command.
  const whole = new RegExp(
    `import\\s+(?!type\\b)[^{'";]*?(\\*\\s+as\\s+\\w+|\\w+)\\s+from\\s*['"]${quoted}['"]|import\\(\\s*['"]${quoted}['"]\\s*\\)|require\\(\\s*['"]${quoted}['"]\\s*\\)`,
    'g',
  );
  for (const match of text.matchAll(whole)) found.push(match[0].replace(/\s+/g, ' '));
  return found;
}

describe('the Secrets Manager adapter is the only sender', () => {
  const files = SCANNED.flatMap(sourceFiles);

  it('finds the adapter and its commands (the scan can see an import)', () => {
    expect(files).toContain('lib/secrets/secrets-store.ts');
    const adapter = commandImports(readFileSync(join(ROOT, 'lib/secrets/secrets-store.ts'), 'utf8'));
    expect(adapter).toEqual(expect.arrayContaining(['DescribeSecretCommand', 'PutSecretValueCommand']));
  });

  it('recognises the ways a command can be imported', () => {
    expect(commandImports(`import {\n  GetSecretValueCommand,\n  type X,\n} from '${PACKAGE}';`)).toEqual([
      'GetSecretValueCommand',
    ]);
    expect(commandImports(`import { RotateSecretCommand as R } from "${PACKAGE}";`)).toEqual([
      'RotateSecretCommand',
    ]);
    expect(commandImports(`export { TagResourceCommand } from '${PACKAGE}';`)).toEqual([
      'TagResourceCommand',
    ]);
    expect(commandImports(`import * as sm from '${PACKAGE}';`)).toHaveLength(1);
    expect(commandImports(`const sm = await import('${PACKAGE}');`)).toHaveLength(1);
    expect(commandImports(`import type { DescribeSecretCommandOutput } from '${PACKAGE}';`)).toEqual([]);
    expect(
      commandImports(`import { type GetSecretValueCommand, SecretsManagerClient } from '${PACKAGE}';`),
    ).toEqual([]);
  });

  it('no other file in lib/, cli/, functions/ or local/ imports a Secrets Manager command', () => {
    const offenders = files
      .filter((file) => !ALLOWED.has(file))
      .flatMap((file) =>
        commandImports(readFileSync(join(ROOT, file), 'utf8')).map(
          (name) => `${relative('.', file)}: ${name}`,
        ),
      );
    expect(offenders, 'send these through SecretsStore (lib/secrets/secrets-store.ts)').toEqual([]);
  });
});
