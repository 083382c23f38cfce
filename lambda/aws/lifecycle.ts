/**
 * The two lifecycle-hook calls the drain handler makes. An action that is no longer active (completed by a
 * duplicate, expired, or abandoned) is an outcome, not an error: there is nothing left to keep alive or finish.
 */
import {
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';

export interface LifecycleActionRef {
  readonly autoScalingGroupName: string;
  readonly lifecycleHookName: string;
  readonly lifecycleActionToken: string;
  readonly instanceId: string;
}

/** `ok`: AWS accepted the call. `gone`: the action is no longer active. */
export type LifecycleActionOutcome = 'ok' | 'gone';

export interface LifecycleActions {
  /** `RecordLifecycleActionHeartbeat`: restarts the hook's heartbeat timeout. */
  heartbeat(action: LifecycleActionRef): Promise<LifecycleActionOutcome>;
  /** `CompleteLifecycleAction(CONTINUE)`: lets the termination proceed. */
  completeContinue(action: LifecycleActionRef): Promise<LifecycleActionOutcome>;
}

/**
 * AWS answers `ValidationError` "No active Lifecycle Action found with token …" (or "… with instance ID …")
 * for an action that already ended. Other validation errors (wrong hook or group name) stay errors.
 * Matched by name, not class, so it holds if the SDK is bundled more than once.
 */
export function isNoActiveLifecycleAction(error: unknown): boolean {
  return (
    error instanceof Error && error.name === 'ValidationError' && /no active lifecycle action/i.test(error.message)
  );
}

export function createLifecycleActions(client: AutoScalingClient): LifecycleActions {
  const call = async (send: () => Promise<unknown>): Promise<LifecycleActionOutcome> => {
    try {
      await send();
      return 'ok';
    } catch (error) {
      if (isNoActiveLifecycleAction(error)) return 'gone';
      throw error;
    }
  };
  const target = (action: LifecycleActionRef) => ({
    AutoScalingGroupName: action.autoScalingGroupName,
    LifecycleHookName: action.lifecycleHookName,
    LifecycleActionToken: action.lifecycleActionToken,
    InstanceId: action.instanceId,
  });
  return {
    heartbeat: (action) => call(() => client.send(new RecordLifecycleActionHeartbeatCommand(target(action)))),
    completeContinue: (action) =>
      call(() =>
        client.send(new CompleteLifecycleActionCommand({ ...target(action), LifecycleActionResult: 'CONTINUE' })),
      ),
  };
}
