/** The lifecycle adapter over mocked AutoScaling calls (moto does not implement these two). */
import 'aws-sdk-client-mock-jest';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { createLifecycleActions, isNoActiveLifecycleAction } from '../../lambda/aws/lifecycle';
import { ASG, HOOK, INSTANCE, TOKEN } from './builders';
import { autoScalingMock, noActiveAction } from './fakes';

const action = {
  autoScalingGroupName: ASG,
  lifecycleHookName: HOOK,
  lifecycleActionToken: TOKEN,
  instanceId: INSTANCE,
};

describe('lifecycle actions adapter', () => {
  beforeEach(() => autoScalingMock.reset());
  const lifecycle = () => createLifecycleActions(new AutoScalingClient({ region: 'us-east-1' }));

  test('heartbeat and complete send the action and CONTINUE', async () => {
    autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});
    autoScalingMock.on(CompleteLifecycleActionCommand).resolves({});

    await expect(lifecycle().heartbeat(action)).resolves.toBe('ok');
    await expect(lifecycle().completeContinue(action)).resolves.toBe('ok');

    const target = {
      AutoScalingGroupName: ASG,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
      InstanceId: INSTANCE,
    };
    expect(autoScalingMock).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, target);
    expect(autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      ...target,
      LifecycleActionResult: 'CONTINUE',
    });
  });

  test.each([`token ${TOKEN}`, `instance ID ${INSTANCE}`])('"No active Lifecycle Action found with %s": gone', async (detail) => {
    autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveAction(detail));
    autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveAction(detail));

    await expect(lifecycle().heartbeat(action)).resolves.toBe('gone');
    await expect(lifecycle().completeContinue(action)).resolves.toBe('gone');
  });

  test('any other error is thrown', async () => {
    const accessDenied = Object.assign(new Error('User is not authorized to perform: CompleteLifecycleAction'), {
      name: 'AccessDenied',
    });
    autoScalingMock.on(CompleteLifecycleActionCommand).rejects(accessDenied);

    await expect(lifecycle().completeContinue(action)).rejects.toThrow('not authorized');
  });

  test('only the no-active-action ValidationError counts as gone', () => {
    expect(isNoActiveLifecycleAction(noActiveAction())).toBe(true);
    const otherValidation = noActiveAction();
    otherValidation.message = 'LifecycleHook not found';
    expect(isNoActiveLifecycleAction(otherValidation)).toBe(false);
    const throttled = Object.assign(new Error('No active Lifecycle Action found'), { name: 'Throttling' });
    expect(isNoActiveLifecycleAction(throttled)).toBe(false);
    expect(isNoActiveLifecycleAction('No active Lifecycle Action found')).toBe(false);
  });
});
