import * as fs from 'fs';
import * as path from 'path';

const CORE = path.join(__dirname, '..', '..', 'lambda', 'core');

// The simulator and the handler share this policy; it must stay plain data and pure functions, so
// nothing from AWS, Spacelift, the network or the handlers may be imported into it.
test('lambda/core imports only its own modules', () => {
  const files = fs.readdirSync(CORE).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  expect(files.length).toBeGreaterThan(5);
  const outside = files.flatMap((file) => {
    const source = fs.readFileSync(path.join(CORE, file), 'utf8');
    const specifiers = [...source.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\s+['"]([^'"]+)['"]|(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)]
      .map((m) => m[1] ?? m[2] ?? m[3]);
    return specifiers.filter((s) => !s.startsWith('./')).map((s) => `${file}: ${s}`);
  });
  expect(outside).toEqual([]);
});
