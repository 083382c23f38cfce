import { readmeBlocks } from './consumer-project';

// The consumer-app gate checks every ```ts block of README.md; a TypeScript block fenced otherwise would
// escape it silently, so the extraction refuses one.
test.each(['typescript', 'tsx'])('a README block fenced as %s is refused, not skipped', (fence) => {
  expect(() => readmeBlocks(`Intro\n\n\`\`\`${fence}\nconst x = 1;\n\`\`\`\n`)).toThrow(/fences TypeScript as/);
});

test('ts blocks are extracted with their declared placeholders and kind', () => {
  const blocks = readmeBlocks('```ts\ndeclare const stack: Stack;\nnew X(stack);\n```\n\n```sh\nnpm test\n```\n');
  expect(blocks).toEqual([{ name: 'readme-1', kind: 'app', code: 'declare const stack: Stack;\nnew X(stack);\n', declared: ['stack'] }]);
});
