import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { buildExamples, exampleApp } from '../support/example-app';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const dirs = fs.readdirSync(EXAMPLES, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

test.each(dirs)('examples/%s has a README', (dir) => {
  const readme = path.join(EXAMPLES, dir, 'README.md');
  expect(fs.existsSync(readme)).toBe(true);
  expect(fs.readFileSync(readme, 'utf8').length).toBeGreaterThan(200);
});

test('every TypeScript example is one stack of the app that `cdk synth` and the gates synthesize', () => {
  const tsExamples = dirs.filter((dir) => fs.existsSync(path.join(EXAMPLES, dir, 'stack.ts')));
  const stacks = buildExamples(exampleApp()).node.children.filter((c) => Stack.isStack(c));
  expect(tsExamples.length).toBeGreaterThanOrEqual(5);
  expect(stacks).toHaveLength(tsExamples.length);
});
