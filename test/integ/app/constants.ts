/** Names shared by the integ CDK app and the tests that deploy it. */
export const STACK_NAME = 'IntegSpaceliftPool';

/** A valid ULID; the fake Spacelift serves a pool with this id. */
export const WORKER_POOL_ID = '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z';
/** A valid API key id; the fake Spacelift accepts it with the secret stored in moto. */
export const API_KEY_ID = '01J9ZQ4W8R6T2K3M5N7P9APIKY';

/** Stack output ids, by what they hold. Each is a plain Ref (see support/deploy.ts for why). */
export const OUTPUTS = {
  asgName: 'AsgName',
  launchTemplateId: 'LaunchTemplateId',
  queueUrl: 'DrainQueueUrl',
  deadLetterQueueUrl: 'DrainDeadLetterQueueUrl',
  drainFunctionName: 'DrainFunctionName',
  autoscalerFunctionName: 'AutoscalerFunctionName',
  instanceRoleName: 'InstanceRoleName',
} as const;

export type StackOutputs = { readonly [K in keyof typeof OUTPUTS]: string };
