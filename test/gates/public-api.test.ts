import * as fs from 'fs';
import * as path from 'path';

const ASSEMBLY = path.join(__dirname, '..', '..', '.jsii');

// The pool builds these itself: they are not for users, so they must not reach API.md or any
// language binding (where every exported type becomes a public class or interface for good).
const INTERNAL_TYPES = [
  'PoolFunctionProps', 'PoolRegistration', 'PoolRegistrationProps', 'PoolWebhook', 'PoolWebhookProps',
  'WorkerDrain', 'WorkerDrainProps', 'WorkerPoolAutoscaler', 'WorkerPoolAutoscalerProps',
];

test('the jsii assembly (npm run compile) has no internal construct or props type', () => {
  expect(fs.existsSync(ASSEMBLY)).toBe(true);
  const assembly = JSON.parse(fs.readFileSync(ASSEMBLY, 'utf8'));
  const names = Object.keys(assembly.types).map((fqn) => fqn.slice(fqn.lastIndexOf('.') + 1));
  expect(names.filter((name) => INTERNAL_TYPES.includes(name))).toEqual([]);
  // What the pool exposes of its drain is an interface; the options users set stay public.
  expect(names).toEqual(expect.arrayContaining(['IWorkerDrain', 'DrainOptions', 'AutoscalingOptions', 'FunctionPlacement', 'ScaleDownDelay']));
});
