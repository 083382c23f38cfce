import 'aws-sdk-client-mock-jest';
import {
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DrainMetric, NO_WORKER_CONFIRM_MS } from '../../lambda/drain/handler';
import { DEFER_DELAY_SECONDS } from '../../lambda/drain/schedule';
import { ASG, HOOK, INSTANCE, notification, recheck, spotEvent, sqsEvent, sqsRecord, T0, TOKEN } from './builders';
import { autoScalingMock, ec2Mock, harness, noActiveAction, SCHEDULE, sqsMock } from './fakes';

const OTHER_INSTANCE = 'i-0fedcba9876543210';

describe('drain handler', () => {
  test('skips the hook test notification', async () => {
    const h = harness();
    const response = await h.deliver({
      AccountId: '123456789012',
      RequestId: 'd3f4c1e2-0000-4000-8000-000000000000',
      AutoScalingGroupARN: `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:uuid:autoScalingGroupName/${ASG}`,
      AutoScalingGroupName: ASG,
      Service: 'AWS Auto Scaling',
      Event: 'autoscaling:TEST_NOTIFICATION',
      Time: '2026-01-01T00:00:00.000Z',
    });

    expect(response.batchItemFailures).toEqual([]);
    expect(autoScalingMock.calls()).toHaveLength(0);
    expect(sqsMock.calls()).toHaveLength(0);
    expect(h.pool.calls).toEqual([]);
    expect(h.metrics.count(DrainMetric.TestNotifications)).toBe(1);
    expect(h.metrics.published).toBe(1);
  });

  test('every invocation publishes its metrics under the pool\'s group, the dimension the construct reads', async () => {
    const h = harness();
    await h.deliver('not a message');
    await h.deliver('not a message either');
    expect(h.metrics.publishedDimensions).toEqual([{ AutoScalingGroupName: ASG }, { AutoScalingGroupName: ASG }]);
  });

  test('busy worker: drains, heartbeats, re-checks later; completes once it is idle', async () => {
    const h = harness();
    h.pool.add('w-1', { busy: true });

    expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

    expect(h.pool.isDrained('w-1')).toBe(true);
    expect(autoScalingMock).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: ASG,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
      InstanceId: INSTANCE,
    });
    expect(autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(h.sent[0].delaySeconds).toBe(SCHEDULE.recheckInterval);
    expect(h.sent[0].body).toEqual({ ...notification(), attempt: 1, startedAt: T0, workerIds: ['w-1'] });

    h.pool.setBusy('w-1', false);
    h.clock.advance(h.sent[0].delaySeconds);
    expect((await h.deliver(h.sent[0].body)).batchItemFailures).toEqual([]);

    expect(autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: ASG,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
      InstanceId: INSTANCE,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(h.hook.completions).toEqual([T0 + 60]);
    expect(h.hook.heartbeats).toEqual([T0, T0 + 60]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(h.metrics.count(DrainMetric.DrainsStarted)).toBe(1);
    expect(h.metrics.count(DrainMetric.Requeued)).toBe(1);
    expect(h.metrics.count(DrainMetric.CompletedIdle)).toBe(1);
    expect(h.metrics.count(DrainMetric.DrainWaitSeconds)).toBe(60);
  });

  test('each re-check drains again, so an undrain by the autoscaler meanwhile does not stick', async () => {
    const h = harness();
    h.pool.add('w-1', { busy: true });
    await h.deliver(notification());
    await h.pool.undrain('w-1');

    h.clock.advance(h.sent[0].delaySeconds);
    await h.deliver(h.sent[0].body);

    expect(h.pool.isDrained('w-1')).toBe(true);
    expect(h.pool.calls.filter((c) => c === 'drain w-1')).toHaveLength(2);
  });

  test('idle worker: drains and completes at once', async () => {
    const h = harness();
    h.pool.add('w-1');

    expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

    expect(h.pool.calls).toEqual(['snapshot', 'drain w-1']);
    expect(h.hook.completions).toEqual([T0]);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  test('no worker on the instance: a second read some seconds later agrees, then completes without draining anything', async () => {
    const h = harness();
    h.pool.add('w-other', { instanceId: OTHER_INSTANCE, busy: true });

    expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

    expect(h.pool.calls).toEqual(['snapshot', 'snapshot']);
    expect(h.sleeps).toEqual([NO_WORKER_CONFIRM_MS]);
    expect(h.hook.completions).toEqual([T0 + NO_WORKER_CONFIRM_MS / 1000]);
    expect(sqsMock.calls()).toHaveLength(0);
    expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(1);
  });

  test('an instance terminated from the warm pool never ran a worker: completed at once, asking Spacelift nothing', async () => {
    const h = harness();
    // Even a busy worker with invalid metadata, which holds instances in the group, cannot be on a warm instance.
    h.pool.add('w-odd', { busy: true, metadata: null });

    expect((await h.deliver(notification({ Origin: 'WarmPool', Destination: 'EC2' }))).batchItemFailures).toEqual([]);

    expect(h.pool.calls).toEqual([]);
    expect(h.hook.completions).toEqual([T0]);
    expect(sqsMock.calls()).toHaveLength(0);
    expect(h.metrics.count(DrainMetric.CompletedWarmPool)).toBe(1);
  });

  test('the worker list is empty on the first read, the busy worker is back on the confirming read: held, not completed', async () => {
    const h = harness();
    h.pool.add('w-1', { busy: true });
    h.pool.emptySnapshots = 1;

    expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

    expect(h.pool.calls).toEqual(['snapshot', 'snapshot', 'drain w-1']);
    expect(h.hook.completions).toEqual([]);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0].body.workerIds).toEqual(['w-1']);
    expect(h.metrics.count(DrainMetric.NoWorkerOverturned)).toBe(1);
    expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(0);
  });

  describe('an empty worker list is not the truth about an instance that had a worker', () => {
    test('two empty reads hold an instance that registered a worker, until the list says it is idle', async () => {
      const h = harness();
      h.registered.add(INSTANCE);
      h.pool.add('w-1', { busy: true });
      h.pool.emptySnapshots = 2;

      await h.deliver(notification());

      expect(h.hook.completions).toEqual([]);
      expect(h.metrics.count(DrainMetric.HeldForEmptyList)).toBe(1);
      expect(h.sent).toHaveLength(1);
      // The list is back: the worker is busy, then idle.
      await h.runQueue({ beforeDelivery: (now) => h.pool.setBusy('w-1', now - T0 < 200) });
      expect(h.hook.completions).toHaveLength(1);
      expect(h.hook.completions[0]).toBeGreaterThanOrEqual(T0 + 200);
      expect(h.metrics.count(DrainMetric.CompletedIdle)).toBe(1);
    });

    test('an instance that never registered a worker is released on two empty reads', async () => {
      const h = harness();
      h.pool.emptySnapshots = 2;
      await h.deliver(notification());
      expect(h.hook.completions).toHaveLength(1);
      expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(1);
    });

    test('tags EC2 cannot tell (DescribeInstances fails) hold on two empty reads', async () => {
      const h = harness();
      ec2Mock.on(DescribeInstancesCommand).rejects(new Error('Rate exceeded'));
      h.pool.emptySnapshots = 2;
      await h.deliver(notification());
      expect(h.hook.completions).toEqual([]);
      expect(h.metrics.count(DrainMetric.HeldForEmptyList)).toBe(1);
    });

    test('a list that omits the instance\'s busy worker (fewer busy workers than Spacelift counts) holds it too', async () => {
      const h = harness();
      h.registered.add(INSTANCE);
      h.pool.add('w-1', { busy: true }).add('w-2', { instanceId: OTHER_INSTANCE });
      h.pool.hidden.add('w-1');

      await h.deliver(notification());

      expect(h.hook.completions).toEqual([]);
      expect(h.metrics.count(DrainMetric.HeldForPartialList)).toBe(1);
      expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(0);
      // The whole list is back, and the worker finishes its run.
      h.pool.hidden.clear();
      await h.runQueue({ beforeDelivery: (now) => h.pool.setBusy('w-1', now - T0 < 200) });
      expect(h.hook.completions).toHaveLength(1);
      expect(h.metrics.count(DrainMetric.CompletedIdle)).toBe(1);
    });

    test('a list with other workers but none on the instance still releases it (that list is not empty)', async () => {
      const h = harness();
      h.registered.add(INSTANCE);
      h.pool.add('w-2', { busy: true, instanceId: OTHER_INSTANCE });
      await h.deliver(notification());
      expect(h.hook.completions).toHaveLength(1);
      expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(1);
    });
  });

  test('a batch shares one confirming read', async () => {
    const h = harness();
    h.launchTimes.set(OTHER_INSTANCE, T0 - 600);
    // Two actions: the hook model holds one, so both calls are accepted here and checked by their inputs.
    autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});
    autoScalingMock.on(CompleteLifecycleActionCommand).resolves({});
    const otherToken = 'a0b1c2d3-0000-4000-8000-000000000000';
    const response = await h.handler(sqsEvent(
      sqsRecord(notification()),
      sqsRecord(notification({ EC2InstanceId: OTHER_INSTANCE, LifecycleActionToken: otherToken })),
    ));
    expect(response.batchItemFailures).toEqual([]);
    expect(h.pool.calls).toEqual(['snapshot', 'snapshot']);
    expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(2);
    expect(autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 2);
    expect(autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, { InstanceId: INSTANCE, LifecycleActionToken: TOKEN });
    expect(autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      InstanceId: OTHER_INSTANCE,
      LifecycleActionToken: otherToken,
    });
  });

  describe('a worker the previous check saw busy, and that neither read lists', () => {
    /** w-1 busy at the first check; the re-check's two reads both list no worker at all. */
    async function omittedAtRecheck() {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      await h.deliver(notification());
      expect(h.sent[0].body.workerIds).toEqual(['w-1']);
      h.pool.emptySnapshots = 2;
      h.pool.calls.length = 0;
      h.clock.advance(h.sent[0].delaySeconds);
      return h;
    }

    test('is asked about directly; still busy: held and re-checked, then completed once idle', async () => {
      const h = await omittedAtRecheck();

      expect((await h.deliver(h.sent[0].body)).batchItemFailures).toEqual([]);

      expect(h.pool.calls).toEqual(['snapshot', 'snapshot', 'drain w-1']);
      expect(h.hook.completions).toEqual([]);
      expect(h.sent).toHaveLength(2);
      expect(h.sent[1].body).toMatchObject({ attempt: 2, startedAt: T0, workerIds: ['w-1'] });
      expect(h.sent[1].delaySeconds).toBe(SCHEDULE.recheckInterval);
      expect(h.metrics.count(DrainMetric.NoWorkerOverturned)).toBe(1);
      expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(0);

      h.pool.setBusy('w-1', false);
      await h.runQueue();
      expect(h.hook.completions).toHaveLength(1);
      expect(h.metrics.count(DrainMetric.CompletedIdle)).toBe(1);
    });

    test('gone ("not found"): completed', async () => {
      const h = await omittedAtRecheck();
      h.pool.remove('w-1');

      expect((await h.deliver(h.sent[0].body)).batchItemFailures).toEqual([]);

      expect(h.pool.calls).toEqual(['snapshot', 'snapshot', 'drain w-1']);
      expect(h.hook.completions).toHaveLength(1);
      expect(h.sent).toHaveLength(1);
      expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(1);
    });

    test('idle: completed (and now drained)', async () => {
      const h = await omittedAtRecheck();
      h.pool.setBusy('w-1', false);

      await h.deliver(h.sent[0].body);

      expect(h.pool.calls).toEqual(['snapshot', 'snapshot', 'drain w-1']);
      expect(h.pool.isDrained('w-1')).toBe(true);
      expect(h.hook.completions).toHaveLength(1);
    });

    test('Spacelift cannot tell (the call fails): held by the normal re-check, not failed', async () => {
      const h = await omittedAtRecheck();
      h.pool.drain = async () => {
        throw new Error('HTTP 503');
      };

      expect((await h.deliver(h.sent[0].body)).batchItemFailures).toEqual([]);

      expect(h.hook.completions).toEqual([]);
      expect(h.sent).toHaveLength(2);
      expect(h.sent[1].body.workerIds).toEqual(['w-1']);
      expect(h.sent[1].delaySeconds).toBe(SCHEDULE.recheckInterval);
    });

    test('with invalid metadata: never drained (it may serve another instance), so held', async () => {
      const h = harness();
      h.pool.add('w-null', { metadata: null, busy: true });
      await h.deliver(notification());
      expect(h.sent[0].body).toMatchObject({ workerIds: ['w-null'], invalidWorkerIds: ['w-null'] });
      h.pool.emptySnapshots = 2;
      h.pool.calls.length = 0;
      h.clock.advance(h.sent[0].delaySeconds);

      await h.deliver(h.sent[0].body);

      expect(h.pool.calls).toEqual(['snapshot', 'snapshot']);
      expect(h.hook.completions).toEqual([]);
      expect(h.sent[1].body).toMatchObject({ attempt: 2, workerIds: ['w-null'], invalidWorkerIds: ['w-null'] });
      expect(h.metrics.count(DrainMetric.HeldForInvalidMetadata)).toBe(2);
    });

    test('a worker the confirming read lists (idle, elsewhere) is not asked about', async () => {
      const h = harness();
      h.pool.add('w-1', { instanceId: OTHER_INSTANCE });

      await h.deliver(recheck({ workerIds: ['w-1'] }));

      expect(h.pool.calls).toEqual(['snapshot', 'snapshot']);
      expect(h.hook.completions).toHaveLength(1);
    });
  });

  test('worker re-registered: every worker of the instance is drained, and all must be idle', async () => {
    const h = harness();
    h.pool.add('w-old').add('w-new', { busy: true });

    await h.deliver(notification());

    expect(h.pool.isDrained('w-old')).toBe(true);
    expect(h.pool.isDrained('w-new')).toBe(true);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0].body.workerIds).toEqual(['w-new']);
    expect(h.hook.completions).toHaveLength(0);

    h.pool.setBusy('w-new', false);
    await h.runQueue();
    expect(h.hook.completions).toHaveLength(1);
  });

  test('busy workers with invalid or null metadata hold the termination (they may be on it), never a crash', async () => {
    const h = harness();
    h.pool
      .add('w-null', { metadata: null, busy: true })
      .add('w-garbage', { metadata: '{not json', busy: true })
      .add('w-no-instance', { metadata: JSON.stringify({ asg_id: ASG }), busy: true })
      .add('w-array', { metadata: '[]', busy: false });

    expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

    // Never drained (they may be elsewhere), but waited for.
    expect(h.pool.calls).toEqual(['snapshot']);
    expect(h.hook.completions).toEqual([]);
    expect(h.sent.map((m) => m.body.workerIds)).toEqual([['w-null', 'w-garbage', 'w-no-instance']]);
    expect(h.sent[0].body.invalidWorkerIds).toEqual(['w-null', 'w-garbage', 'w-no-instance']);
    expect(h.metrics.count(DrainMetric.HeldForInvalidMetadata)).toBe(1);

    for (const id of ['w-null', 'w-garbage', 'w-no-instance']) h.pool.setBusy(id, false);
    await h.runQueue();
    expect(h.hook.completions).toHaveLength(1);
    expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(1);
    expect(['w-null', 'w-garbage', 'w-no-instance', 'w-array'].some((id) => h.pool.isDrained(id))).toBe(false);
  });

  test('a busy worker with invalid metadata also holds an instance whose own worker is idle', async () => {
    const h = harness();
    h.pool.add('w-1').add('w-null', { metadata: null, busy: true });

    await h.deliver(notification());

    expect(h.pool.calls).toEqual(['snapshot', 'drain w-1']);
    expect(h.hook.completions).toEqual([]);
    expect(h.sent[0].body.workerIds).toEqual(['w-null']);
  });

  describe('invalid metadata and launch time: a worker cannot predate its instance', () => {
    test('a busy worker with invalid metadata created before the instance launched does not hold it', async () => {
      const h = harness();
      h.launchTimes.set(INSTANCE, T0 - 600);
      h.pool.add('w-null', { metadata: null, busy: true, createdAt: T0 - 3600 });

      expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

      expect(h.hook.completions).toHaveLength(1);
      expect(h.sent).toEqual([]);
      expect(h.metrics.count(DrainMetric.HeldForInvalidMetadata)).toBe(0);
      expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(1);
    });

    test('one created at or after the launch holds it', async () => {
      const h = harness();
      h.launchTimes.set(INSTANCE, T0 - 600);
      h.pool.add('w-null', { metadata: null, busy: true, createdAt: T0 - 600 });

      await h.deliver(notification());

      expect(h.hook.completions).toEqual([]);
      expect(h.sent[0].body.workerIds).toEqual(['w-null']);
    });

    test('an instance EC2 does not know, or a failed DescribeInstances, holds (the safe side), without failing the record', async () => {
      const unknown = harness();
      unknown.launchTimes.clear();
      unknown.pool.add('w-null', { metadata: null, busy: true, createdAt: T0 - 3600 });
      expect((await unknown.deliver(notification())).batchItemFailures).toEqual([]);
      expect(unknown.hook.completions).toEqual([]);
      expect(unknown.sent[0].body.workerIds).toEqual(['w-null']);

      const failing = harness();
      failing.launchTimes.set(INSTANCE, T0 - 600);
      ec2Mock.on(DescribeInstancesCommand).rejects(new Error('Rate exceeded'));
      failing.pool.add('w-null', { metadata: null, busy: true, createdAt: T0 - 3600 });
      expect((await failing.deliver(notification())).batchItemFailures).toEqual([]);
      expect(failing.hook.completions).toEqual([]);
      expect(failing.sent[0].body.workerIds).toEqual(['w-null']);
      expect(failing.logger.at('warn').map((e) => e.message)).toContainEqual(expect.stringContaining('launch times'));
    });

    test('one DescribeInstances per batch, for the terminating instances of the batch; none without such a worker', async () => {
      const h = harness();
      autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});
      h.pool.add('w-null', { metadata: null, busy: true });
      await h.handler(sqsEvent(
        sqsRecord(notification()),
        sqsRecord(recheck({ EC2InstanceId: OTHER_INSTANCE, LifecycleActionToken: 'a0b1c2d3-0000-4000-8000-000000000000' })),
        sqsRecord(spotEvent('EC2 Spot Instance Interruption Warning', 'i-0aaaaaaaaaaaaaaaa')),
      ));
      expect(ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input)).toEqual([
        { Filters: [{ Name: 'instance-id', Values: [INSTANCE, OTHER_INSTANCE] }], MaxResults: 1000 },
      ]);

      const plain = harness();
      plain.pool.add('w-1', { busy: true });
      await plain.deliver(notification());
      expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    });
  });

  describe('function timeout', () => {
    test('no time left for the confirming read: re-checked shortly, never completed without it', async () => {
      const h = harness();
      // The first read takes 30 s of the 60 s: 5 s of pause, a read and the completion no longer fit.
      h.pool.latency = 30;

      expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

      expect(h.pool.calls).toEqual(['snapshot']);
      expect(h.sleeps).toEqual([]);
      expect(h.hook.completions).toEqual([]);
      expect(h.sent).toHaveLength(1);
      expect(h.sent[0]).toMatchObject({ delaySeconds: DEFER_DELAY_SECONDS, body: { attempt: 1, deferrals: 1, startedAt: T0, workerIds: [] } });

      h.pool.latency = 0;
      await h.runQueue();
      expect(h.hook.completions).toHaveLength(1);
      expect(h.metrics.count(DrainMetric.CompletedNoWorker)).toBe(1);
    });

    test('no time left to ask about a worker seen busy: re-checked shortly with it, never completed', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      h.pool.emptySnapshots = 2;
      // 14 s + 5 s + 14 s: the confirming read fits, a third call and the completion do not.
      h.pool.latency = 14;

      await h.deliver(recheck({ workerIds: ['w-1'] }));

      expect(h.pool.calls).toEqual(['snapshot', 'snapshot']);
      expect(h.hook.completions).toEqual([]);
      expect(h.sent).toHaveLength(1);
      expect(h.sent[0]).toMatchObject({ delaySeconds: DEFER_DELAY_SECONDS, body: { attempt: 2, workerIds: ['w-1'] } });
    });

    test('no time left to drain the worker the confirming read found: re-checked shortly', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      h.pool.emptySnapshots = 1;
      h.pool.latency = 14;

      await h.deliver(notification());

      expect(h.pool.calls).toEqual(['snapshot', 'snapshot']);
      expect(h.hook.completions).toEqual([]);
      expect(h.sent[0]).toMatchObject({ delaySeconds: DEFER_DELAY_SECONDS, body: { attempt: 1 } });
    });

    test('a Spacelift slow enough that every check is deferred holds a busy worker for the whole budget', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      // 31 s per call: no check finishes in one invocation, each is handed on after 5 s.
      h.pool.latency = 31;

      await h.deliver(notification());
      await h.runQueue({ latency: 1 });

      expect(h.hook.completions).toHaveLength(1);
      expect(h.hook.completions[0] - T0).toBeGreaterThanOrEqual(SCHEDULE.drainTimeout);
      expect(h.metrics.count(DrainMetric.CompletedBudgetExhausted)).toBe(1);
    });

    test('deferred checks early in a drain with a long interval do not shorten it', async () => {
      const schedule = { heartbeatTimeout: 1800, recheckInterval: 900, drainTimeout: 4800 };
      const h = harness(schedule);
      h.pool.add('w-1', { busy: true });
      h.pool.latency = 31;

      await h.deliver(notification());
      // Spacelift is slow for the first three minutes only.
      await h.runQueue({ latency: 1, beforeDelivery: (now) => { h.pool.latency = now - T0 < 180 ? 31 : 0; } });

      expect(h.hook.completions).toHaveLength(1);
      expect(h.hook.completions[0] - T0).toBeGreaterThanOrEqual(schedule.drainTimeout);
    });

    test('the short delay never passes the end of the budget', async () => {
      const h = harness();
      autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});
      h.pool.latency = 30;
      h.clock.now = T0 + SCHEDULE.drainTimeout - 2;

      await h.deliver(recheck({ attempt: 79, workerIds: [] }));

      expect(h.sent.map((s) => s.delaySeconds)).toEqual([2]);
    });
  });

  describe('action no longer active', () => {
    test('heartbeat says so: stops without touching Spacelift or re-checking', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveAction());

      expect((await h.deliver(recheck())).batchItemFailures).toEqual([]);

      expect(h.pool.calls).toEqual([]);
      expect(autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
      expect(sqsMock.calls()).toHaveLength(0);
      expect(h.metrics.count(DrainMetric.ActionGone)).toBe(1);
    });

    test('complete says so: counts as done', async () => {
      const h = harness();
      h.pool.add('w-1');
      autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveAction(`instance ID ${INSTANCE}`));

      expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

      expect(sqsMock.calls()).toHaveLength(0);
      expect(h.metrics.count(DrainMetric.ActionGone)).toBe(1);
      expect(h.metrics.count(DrainMetric.CompletedIdle)).toBe(0);
    });

    test('an expired hook (modelled) is noticed at the next heartbeat', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      h.clock.advance(SCHEDULE.heartbeatTimeout + 1);

      expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

      expect(h.hook.status).toBe('expired');
      expect(h.pool.calls).toEqual([]);
      expect(sqsMock.calls()).toHaveLength(0);
    });

    test('other validation errors are failures, not "gone"', async () => {
      const h = harness();
      const wrongHook = noActiveAction();
      wrongHook.message = 'LifecycleHook not found: drain-before-terminate';
      autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(wrongHook);

      const record = sqsRecord(notification());
      expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(h.metrics.count(DrainMetric.Errors)).toBe(1);
    });
  });

  describe('drain budget', () => {
    test('exhausted: completes with CONTINUE, logs an error naming instance, workers and elapsed time', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      h.clock.now = T0 + SCHEDULE.drainTimeout;

      const response = await h.deliver(recheck({ attempt: 80, startedAt: T0, workerIds: ['w-1'] }));

      expect(response.batchItemFailures).toEqual([]);
      expect(autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
      // The budget needs no Spacelift call and no heartbeat: it ends on time even during an outage.
      expect(autoScalingMock).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
      expect(h.pool.calls).toEqual([]);
      expect(sqsMock.calls()).toHaveLength(0);
      expect(h.metrics.count(DrainMetric.CompletedBudgetExhausted)).toBe(1);
      expect(h.logger.at('error')).toEqual([
        expect.objectContaining({
          message: expect.stringContaining('budget exhausted'),
          attributes: expect.objectContaining({
            instanceId: INSTANCE,
            workerIds: ['w-1'],
            elapsedSeconds: SCHEDULE.drainTimeout,
          }),
        }),
      ]);
    });

    test('the last re-check is cut to what is left of the budget', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});
      h.clock.now = T0 + SCHEDULE.drainTimeout - 25;

      await h.deliver(recheck({ attempt: 79 }));

      expect(h.sent.map((s) => s.delaySeconds)).toEqual([25]);
    });

    test('an attempt count beyond the schedule ends the chain even if the clock says otherwise', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });

      await h.deliver(recheck({ attempt: SCHEDULE.drainTimeout / SCHEDULE.recheckInterval, startedAt: T0 }));

      expect(h.metrics.count(DrainMetric.CompletedBudgetExhausted)).toBe(1);
      expect(sqsMock.calls()).toHaveLength(0);
    });

    test('counts from the notification time, so a late original cannot restart the budget', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      h.clock.now = T0 + 2 * SCHEDULE.drainTimeout;

      await h.deliver(notification());

      expect(h.metrics.count(DrainMetric.CompletedBudgetExhausted)).toBe(1);
      expect(sqsMock.calls()).toHaveLength(0);
    });
  });

  describe('Spacelift failures', () => {
    test('a 5xx mid-drain fails the record after the heartbeat, and sends nothing', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      h.pool.down = new Error('Spacelift answered HTTP 503 after 4 attempts');

      const record = sqsRecord(notification());
      const response = await h.handler(sqsEvent(record));

      expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(h.hook.heartbeats).toEqual([T0]);
      expect(autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
      expect(sqsMock.calls()).toHaveLength(0);
      expect(h.metrics.count(DrainMetric.Errors)).toBe(1);
      expect(h.logger.at('error')[0].attributes).toMatchObject({ messageId: record.messageId, kind: 'lifecycle' });
    });

    test('drain fails after the snapshot worked: same, and the redelivery finishes the job', async () => {
      const h = harness();
      h.pool.add('w-1');
      const drain = h.pool.drain.bind(h.pool);
      h.pool.drain = async () => {
        h.pool.drain = drain;
        throw new Error('HTTP 502');
      };

      const record = sqsRecord(notification());
      expect((await h.handler(sqsEvent(record))).batchItemFailures).toHaveLength(1);
      expect(h.hook.completions).toEqual([]);

      h.clock.advance(120);
      expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([]);
      expect(h.hook.completions).toEqual([T0 + 120]);
    });

    test('an outage shorter than the budget never lets the hook expire (redelivery heartbeats)', async () => {
      const visibilityTimeout = 200;
      const h = harness();
      h.pool.add('w-1', { busy: true });
      await h.deliver(notification());
      const message = h.sent[0].body;

      // Spacelift is down for 40 minutes; SQS redelivers the failing re-check every visibility timeout.
      h.pool.down = new Error('HTTP 503');
      h.clock.advance(h.sent[0].delaySeconds);
      const record = sqsRecord(message);
      for (let receives = 0; h.clock.now < T0 + 40 * 60; receives++) {
        expect((await h.handler(sqsEvent(record))).batchItemFailures).toHaveLength(1);
        expect(h.hook.status).toBe('active');
        h.clock.advance(visibilityTimeout);
      }
      h.pool.down = undefined;
      h.pool.setBusy('w-1', false);
      expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([]);

      expect(h.hook.completions).toHaveLength(1);
      const gaps = h.hook.heartbeats.slice(1).map((t, i) => t - h.hook.heartbeats[i]);
      expect(Math.max(...gaps)).toBeLessThan(SCHEDULE.heartbeatTimeout);
    });

    test('a failed heartbeat (throttling) fails the record and never re-queues', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      const throttled = noActiveAction();
      throttled.name = 'Throttling';
      throttled.message = 'Rate exceeded';
      autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(throttled);

      expect((await h.deliver(recheck())).batchItemFailures).toHaveLength(1);
      expect(h.pool.calls).toEqual([]);
      expect(sqsMock.calls()).toHaveLength(0);
    });
  });

  describe('duplicates', () => {
    test('the same notification twice: both chains share one deadline and the action completes once', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });

      await h.deliver(notification());
      h.clock.advance(5);
      await h.deliver(notification());
      expect(h.sent.map((s) => s.body)).toEqual([h.sent[0].body, h.sent[0].body]);

      // The worker finishes after 5 minutes; both chains re-check until then, one completes, the other stops.
      const delivered = await h.runQueue({
        beforeDelivery: (now) => {
          if (now >= T0 + 300) h.pool.setBusy('w-1', false);
        },
      });

      expect(h.hook.completions).toHaveLength(1);
      expect(h.hook.status).toBe('completed');
      expect(h.hook.rejected).toBeGreaterThanOrEqual(1);
      // Two chains of about 300 / 60 steps each, not a growing fan-out.
      expect(delivered).toBeLessThanOrEqual(2 * (300 / 60 + 1));
      expect(h.sent.length).toBe(delivered);
    });

    test('the same re-check twice in one batch: each yields at most one successor', async () => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      const body = recheck();

      const response = await h.handler(sqsEvent(sqsRecord(body, 'dup'), sqsRecord(body, 'dup-2')));

      expect(response.batchItemFailures).toEqual([]);
      expect(h.sent).toHaveLength(2);
      expect(h.sent.every((s) => s.body.attempt === 2 && s.body.startedAt === T0)).toBe(true);
      // One pool snapshot for the whole batch.
      expect(h.pool.calls.filter((c) => c === 'snapshot')).toHaveLength(1);
    });

    test('a duplicate after completion stops at the heartbeat', async () => {
      const h = harness();
      h.pool.add('w-1');
      await h.deliver(notification());
      h.clock.advance(30);
      h.pool.calls.length = 0;

      expect((await h.deliver(notification())).batchItemFailures).toEqual([]);

      expect(h.hook.completions).toHaveLength(1);
      expect(h.pool.calls).toEqual([]);
      expect(sqsMock.calls()).toHaveLength(0);
    });
  });

  describe('malformed messages', () => {
    const cases: [string, string][] = [
      ['not JSON', 'this is {not json'],
      ['JSON of an unknown shape', JSON.stringify({ hello: 'world' })],
      ['a launching hook', JSON.stringify(notification({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' as never }))],
      ['a notification without token', JSON.stringify({ ...notification(), LifecycleActionToken: undefined })],
      ['a re-check with a bad attempt', JSON.stringify(recheck({ attempt: -1 }))],
      ['a re-check with more deferrals than attempts', JSON.stringify(recheck({ attempt: 2, deferrals: 3 }))],
      ['an EC2 event of another type', JSON.stringify(spotEvent('EC2 Instance State-change Notification'))],
      ['an unparseable time', JSON.stringify(notification({ Time: 'yesterday' }))],
    ];

    test.each(cases)('%s: batch item failure, nothing sent, nothing called', async (_name, body) => {
      const h = harness();
      h.pool.add('w-1', { busy: true });
      const record = sqsRecord(body);

      const response = await h.handler(sqsEvent(record));

      expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(sqsMock.calls()).toHaveLength(0);
      expect(autoScalingMock.calls()).toHaveLength(0);
      expect(h.pool.calls).toEqual([]);
      expect(h.metrics.count(DrainMetric.MalformedMessages)).toBe(1);
    });

    test('only the malformed record of a batch fails; the log holds a truncated body', async () => {
      const h = harness();
      h.pool.add('w-1');
      const bad = sqsRecord('x'.repeat(100_000));
      const good = sqsRecord(notification());

      const response = await h.handler(sqsEvent(bad, good));

      expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
      expect(h.hook.completions).toHaveLength(1);
      const [logged] = h.logger.at('error');
      expect(logged.attributes.messageId).toBe(bad.messageId);
      expect((logged.attributes.body as string).length).toBeLessThanOrEqual(1000);
    });
  });

  describe('EC2 warnings (EventBridge)', () => {
    test.each(['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation'])(
      '%s: drains the worker at once and does nothing else',
      async (detailType) => {
        const h = harness();
        h.pool.add('w-1', { busy: true }).add('w-2', { instanceId: OTHER_INSTANCE });

        expect((await h.deliver(spotEvent(detailType))).batchItemFailures).toEqual([]);

        expect(h.pool.calls).toEqual(['snapshot', 'drain w-1']);
        expect(h.pool.isDrained('w-2')).toBe(false);
        expect(autoScalingMock.calls()).toHaveLength(0);
        expect(sqsMock.calls()).toHaveLength(0);
        expect(h.metrics.count(DrainMetric.SpotDrains)).toBe(1);
      },
    );

    test.each([
      ['EC2 Spot Instance Interruption Warning', ['snapshot', 'drain w-1']],
      // Only groups with capacity rebalancing act on it: another group's worker would be left drained.
      ['EC2 Instance Rebalance Recommendation', ['snapshot']],
    ])('%s for an instance whose worker names another group: %j', async (detailType, calls) => {
      const h = harness();
      h.pool.add('w-1', { metadata: JSON.stringify({ asg_id: 'other-asg', instance_id: INSTANCE }) });

      expect((await h.deliver(spotEvent(detailType))).batchItemFailures).toEqual([]);

      expect(h.pool.calls).toEqual(calls);
    });

    test('no worker on the instance: no-op', async () => {
      const h = harness();
      h.pool.add('w-2', { instanceId: OTHER_INSTANCE });

      expect((await h.deliver(spotEvent('EC2 Spot Instance Interruption Warning'))).batchItemFailures).toEqual([]);

      expect(h.pool.calls).toEqual(['snapshot']);
      expect(autoScalingMock.calls()).toHaveLength(0);
      expect(sqsMock.calls()).toHaveLength(0);
    });

    test('Spacelift failure: the record fails so SQS retries it', async () => {
      const h = harness();
      h.pool.add('w-1');
      h.pool.down = new Error('HTTP 500');
      const record = sqsRecord(spotEvent('EC2 Spot Instance Interruption Warning'));

      expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(sqsMock.calls()).toHaveLength(0);
    });
  });
});
