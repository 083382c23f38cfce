/**
 * The drain completes for a worker the previous check saw busy only when Spacelift says it is gone. What the
 * real client makes of that answer, over HTTP against the fake Spacelift, is what `isWorkerNotFound` must
 * recognise; nothing else may pass for "gone".
 */
import { isWorkerNotFound } from '../../lambda/spacelift/errors';
import { Harness } from '../spacelift/harness';

const harness = new Harness();
afterEach(() => harness.closeAll());

async function failureOf(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error('the call succeeded');
}

test('draining a worker the pool does not have is "not found"', async () => {
  const fake = await harness.fake();
  const { api } = harness.client(fake);
  expect(isWorkerNotFound(await failureOf(api.drain('ghost')))).toBe(true);
});

test('other failures of the drain call are not', async () => {
  const fake = await harness.fake();
  fake.addWorker({ id: 'w-1', busy: true });
  const { api } = harness.client(fake, { maxAttempts: 2 });

  fake.injectFault({ kind: 'http', status: 503 }, { match: 'workerDrainSet', times: 2 });
  expect(isWorkerNotFound(await failureOf(api.drain('w-1')))).toBe(false);

  fake.injectFault({ kind: 'graphqlError', message: 'internal error' }, { match: 'workerDrainSet' });
  expect(isWorkerNotFound(await failureOf(api.drain('w-1')))).toBe(false);

  expect(isWorkerNotFound(new Error('could not set worker drain to true: not found'))).toBe(false);
});

test('a pool that is not found is not a worker that is gone', async () => {
  const fake = await harness.fake();
  const { api } = harness.client(fake, { workerPoolId: 'OTHER' });
  expect(isWorkerNotFound(await failureOf(api.snapshot()))).toBe(false);
});
