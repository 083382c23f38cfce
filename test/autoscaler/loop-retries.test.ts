/**
 * In the default mode (POLL_WHEN needed) an invocation still ticks on the grid while something must be retried: a
 * failed tick, and an undrain that failed (a drained idle worker would otherwise stay drained until the next
 * invocation). Written by a review that found no test failing without these branches of handler.ts.
 */
import { loadAutoscalerConfig } from '../../lambda/autoscaler/config';
import { createHandler } from '../../lambda/autoscaler/handler';
import { SpaceliftApiError } from '../../lambda/spacelift';
import { ASG, InMemoryFleet, InMemoryPool, instance, instanceId, NOW, RecordingLogger, RecordingMetrics, worker } from './fakes';

const ENV = {
  SPACELIFT_API_ENDPOINT: 'https://acme.app.spacelift.io', SPACELIFT_API_KEY_ID: '01APIKEY',
  SPACELIFT_API_KEY_SECRET_ARN: '/spacelift/api-key', SPACELIFT_WORKER_POOL_ID: '01POOL', ASG_NAME: ASG, POLL_WHEN: 'needed',
};

function setup() {
  let now = NOW;
  const pool = new InMemoryPool([worker('w1', instanceId(1), { availableAt: NOW - 600 })]);
  const fleet = new InMemoryFleet({ name: ASG, minSize: 0, maxSize: 10, desiredCapacity: 1, instances: [instance(instanceId(1))] });
  const tickStarts: number[] = [];
  const snapshot = pool.snapshot.bind(pool);
  pool.snapshot = async () => { tickStarts.push(now - NOW); return snapshot(); };
  const handler = createHandler({
    workerPool: pool, fleet, config: loadAutoscalerConfig(ENV), logger: new RecordingLogger(), metrics: new RecordingMetrics(),
    clock: () => now, sleep: async (ms) => { now += ms / 1000; },
  });
  const invoke = () => { const deadline = now * 1000 + 120_000; return handler({}, { getRemainingTimeInMillis: () => deadline - now * 1000 }); };
  return { pool, fleet, invoke, tickStarts };
}

test('a pending undrain keeps polling until a snapshot shows the worker undrained', async () => {
  const s = setup();
  // The worker takes a run just before our drain, and the undrain that follows fails.
  s.pool.onDrain = (w) => s.pool.update(w.id, { busy: true });
  s.pool.failNext('undrain', new SpaceliftApiError('http', 'HTTP 503', { retryable: true, operation: 'WorkerDrainSet', status: 503 }));
  await s.invoke();
  expect(s.tickStarts).toEqual([0, 15, 30]);
  expect(s.pool.get('w1')!.drained).toBe(false);
});

test('a failed tick is retried on the grid', async () => {
  const s = setup();
  s.pool.failNext('snapshot', new Error('boom'));
  await s.invoke();
  expect(s.tickStarts.slice(0, 2)).toEqual([0, 15]);
});
