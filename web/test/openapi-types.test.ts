// src/api/schema.d.ts is what openapi-typescript makes of docs/openapi.json today: the dashboard's
// types (src/api/types.ts) are aliases of it, so a document changed without regenerating would let the
// dashboard compile against an old contract.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

describe('src/api/schema.d.ts', () => {
  it('is up to date with docs/openapi.json (else: run npm run gen:types)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-openapi-types-'));
    try {
      const out = join(dir, 'schema.d.ts');
      // The same command as `npm run gen:types`, into a scratch file.
      execFileSync(process.execPath, [here('../node_modules/openapi-typescript/bin/cli.js'), here('../../docs/openapi.json'), '-o', out], {
        stdio: 'pipe',
      });
      const fresh = readFileSync(out, 'utf8');
      const committed = readFileSync(here('../src/api/schema.d.ts'), 'utf8');
      expect(committed === fresh, 'src/api/schema.d.ts is not what docs/openapi.json generates: run npm run gen:types').toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
