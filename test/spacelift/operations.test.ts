/** Parsing Spacelift's answers (lambda/spacelift/operations.ts): what one odd worker does to the list. */
import { parseWorkerPool } from '../../lambda/spacelift/operations';

const POOL = '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z';
const good = { id: 'w1', busy: false, drained: false, createdAt: 1_700_000_000, metadata: '{"asg_id":"asg","instance_id":"i-0123456789abcdef0"}' };

test.each([
  // Without a readable createdAt it may have registered after any launch: it may run on every instance.
  ['createdAt as a string', { id: 'w2', busy: false, drained: false, createdAt: '1700000000' }, false, Number.MAX_SAFE_INTEGER],
  ['busy missing', { id: 'w2', drained: false, createdAt: 1_700_000_000 }, true, 1_700_000_000],
  ['metadata as an object', { id: 'w2', busy: false, drained: true, createdAt: 1_700_000_000, metadata: { asg_id: 'asg' } }, false, 1_700_000_000],
])('a worker with %s keeps the list: it becomes an invalid worker', (_name, odd, busy, createdAt) => {
  const snapshot = parseWorkerPool({ workerPool: { pendingRuns: 0, workers: [good, odd] } }, POOL, false);
  expect(snapshot.workers[0]).toMatchObject({ id: 'w1', metadata: { valid: true } });
  expect(snapshot.workers[1]).toMatchObject({ id: 'w2', busy, createdAt, metadata: { valid: false } });
});

test.each([
  ['no id', { busy: false, drained: false, createdAt: 1 }],
  ['not an object', 'w2'],
])('a worker with %s fails the list: nothing can stand for it', (_name, odd) => {
  expect(() => parseWorkerPool({ workerPool: { pendingRuns: 0, workers: [good, odd] } }, POOL, false)).toThrow(/unexpected data/);
});
