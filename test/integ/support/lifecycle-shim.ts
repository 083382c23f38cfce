/**
 * moto has no lifecycle actions: a termination hook never holds an instance, no notification is
 * sent, and RecordLifecycleActionHeartbeat / CompleteLifecycleAction answer with a 500
 * (NotImplementedError). This shim intercepts exactly those two AutoScaling commands with
 * aws-sdk-client-mock and plays the part of the Auto Scaling service for them; every other
 * AutoScaling command (DescribeAutoScalingGroups, SetDesiredCapacity, TerminateInstanceInAutoScalingGroup...)
 * still goes to moto through `callThrough()`.
 *
 * Like AWS, it only accepts calls for an action it started (`begin`), answers ValidationError
 * "No active Lifecycle Action found with token ..." otherwise, and ends the action on completion.
 */
import { randomUUID } from 'node:crypto';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
  type CompleteLifecycleActionCommandInput,
  type RecordLifecycleActionHeartbeatCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';

export interface LifecycleAction {
  readonly autoScalingGroupName: string;
  readonly lifecycleHookName: string;
  readonly instanceId: string;
  readonly token: string;
}

export interface LifecycleCall {
  readonly kind: 'heartbeat' | 'complete';
  readonly token?: string;
  readonly instanceId?: string;
  readonly result?: string;
  /** What `observe` returned at the time of the call (e.g. whether the worker was busy). */
  readonly observed?: unknown;
  readonly accepted: boolean;
}

export class LifecycleShim {
  readonly calls: LifecycleCall[] = [];
  private readonly active = new Map<string, LifecycleAction>();
  private readonly stub: AwsClientStub<AutoScalingClient>;

  /**
   * @param onComplete what AWS would do next: continue (terminate) the instance
   * @param observe recorded with each call, to check what the world looked like when it was made
   */
  constructor(
    private readonly onComplete: (action: LifecycleAction, result: string) => Promise<void>,
    private readonly observe: (instanceId: string) => unknown = () => undefined,
  ) {
    this.stub = mockClient(AutoScalingClient);
    this.stub.send.callThrough();
    this.stub.on(RecordLifecycleActionHeartbeatCommand).callsFake((input: RecordLifecycleActionHeartbeatCommandInput) => {
      this.find('heartbeat', input);
      return {};
    });
    this.stub.on(CompleteLifecycleActionCommand).callsFake(async (input: CompleteLifecycleActionCommandInput) => {
      const action = this.find('complete', input, input.LifecycleActionResult);
      this.active.delete(action.token);
      await this.onComplete(action, input.LifecycleActionResult ?? '');
      return {};
    });
  }

  /** Starts a termination lifecycle action, as the ASG does when it begins terminating an instance. */
  begin(autoScalingGroupName: string, lifecycleHookName: string, instanceId: string): LifecycleAction {
    const action = { autoScalingGroupName, lifecycleHookName, instanceId, token: randomUUID() };
    this.active.set(action.token, action);
    return action;
  }

  /**
   * Inputs of every `command` sent through any AutoScalingClient (the stub sees all of them, passed
   * through or not), except those sent by `exclude`, e.g. the test's own client.
   */
  sent<I extends object>(command: new (input: I) => { input: I }, exclude?: AutoScalingClient): I[] {
    return this.stub.send.getCalls()
      .filter((call) => call.args[0] instanceof command && call.thisValue !== exclude)
      .map((call) => (call.args[0] as unknown as { input: I }).input);
  }

  isActive(token: string): boolean {
    return this.active.has(token);
  }

  restore(): void {
    this.stub.restore();
  }

  private find(
    kind: LifecycleCall['kind'],
    input: RecordLifecycleActionHeartbeatCommandInput | CompleteLifecycleActionCommandInput,
    result?: string,
  ): LifecycleAction {
    const action = input.LifecycleActionToken === undefined ? undefined : this.active.get(input.LifecycleActionToken);
    const accepted = action !== undefined
      && action.autoScalingGroupName === input.AutoScalingGroupName
      && action.lifecycleHookName === input.LifecycleHookName
      && (input.InstanceId === undefined || action.instanceId === input.InstanceId);
    this.calls.push({
      kind,
      token: input.LifecycleActionToken,
      instanceId: input.InstanceId,
      result,
      observed: input.InstanceId === undefined ? undefined : this.observe(input.InstanceId),
      accepted,
    });
    if (!accepted) {
      // The shape AWS uses; lambda/aws/lifecycle.ts recognises it as "the action is gone".
      throw Object.assign(new Error(`No active Lifecycle Action found with token ${input.LifecycleActionToken}`), {
        name: 'ValidationError',
      });
    }
    return action;
  }
}
