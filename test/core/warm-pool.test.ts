/**
 * Warm pools. DescribeAutoScalingGroups lists only the group's instances: those in the warm pool are listed by
 * DescribeWarmPool ("the instances that are currently in the warm pool",
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeWarmPool.html), and count toward the
 * desired capacity only once they leave it
 * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html). The autoscaler never
 * calls DescribeWarmPool, so it does not see them. Should a `Warmed:*` state reach it anyway, the instance is
 * neither capacity nor a stray and is never terminated. An instance leaving the warm pool goes through
 * `Pending:Wait`/`Pending:Proceed`/`Pending` like a new launch, and counts as launching capacity; its stray grace
 * runs from the warm start, since EC2's LaunchTime is "the time that the instance was last launched", reset by each
 * start (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Instance.html).
 */
import { decide } from '../../lambda/core';
import { asg, idleFleet, input, instance, instanceId, NOW, pool } from './builders';

const warm = instanceId(9);
const WARMED_STATES = [
  'Warmed:Pending', 'Warmed:Pending:Wait', 'Warmed:Pending:Proceed', 'Warmed:Stopped', 'Warmed:Running',
  'Warmed:Hibernated', 'Warmed:Terminating', 'Warmed:Terminating:Wait', 'Warmed:Terminating:Proceed', 'Warmed:Terminated',
];

describe.each(WARMED_STATES)('an instance in %s', (lifecycleState) => {
  // Launched long ago and never registered: in a live state, a stray.
  const warmInstance = instance(warm, { lifecycleState, launchTime: NOW - 86_400, protectedFromScaleIn: false });

  test('is not capacity: a queued run still scales out', () => {
    const plan = decide(input({ pool: pool([], 1), asg: asg({ desiredCapacity: 0, instances: [warmInstance] }) }));
    expect(plan.counts).toMatchObject({ launching: 0, registered: 0, strays: 0, lost: 0, drained: 0 });
    expect(plan.desiredCapacity).toBe(1);
  });

  test('is never a stray nor terminated, even beside idle workers being scaled in', () => {
    const { workers, instances } = idleFleet(3);
    const plan = decide(input({ pool: pool(workers), asg: asg({ desiredCapacity: 3, instances: [...instances, warmInstance] }) }));
    const touched = [
      ...plan.terminate.map((t) => t.instanceId), ...plan.strays.map((s) => s.instanceId), ...plan.lostReclaims.map((l) => l.instanceId),
    ];
    expect(touched).not.toContain(warm);
    expect(plan.counts.strays).toBe(0);
  });
});

const LEAVING_STATES = ['Pending:Wait', 'Pending:Proceed', 'Pending', 'InService'];

test.each(LEAVING_STATES)('an instance just started from the warm pool (%s) is launching capacity', (lifecycleState) => {
  // Started 20 s ago: LaunchTime is the warm start, not the warm-up boot hours before.
  const started = instance(warm, { lifecycleState, launchTime: NOW - 20 });
  const plan = decide(input({ pool: pool([], 1), asg: asg({ desiredCapacity: 1, instances: [started] }) }));
  expect(plan.counts).toMatchObject({ launching: 1, strays: 0 });
  expect(plan.desiredCapacity).toBeUndefined();
});
