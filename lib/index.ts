export * from './spacelift-worker-pool';
export * from './worker-pool-credentials';
export * from './spacelift-api-key';
export * from './worker-image';
export * from './worker-log-groups';
export * from './launcher-options';
export * from './worker-pool-metrics';
export type { PoolMonitoringOptions } from './pool-monitoring';
export type { PoolWarmPoolOptions } from './pool-warm-pool';
export type { IPoolWebhook, PoolWebhookOptions } from './pool-webhook';
export type { WorkerPoolRegistrationOptions } from './pool-registration';
// The drain and autoscaler constructs, and the props the pool hands them, are internal: only what a
// user sets or reads is exported (and so part of API.md and every language binding).
export type { DrainOptions, IWorkerDrain } from './worker-drain';
export {
  DemandSignal,
  PollingMode,
  ScaleDownDelay,
  type AutoscalingOptions,
  type BreakEvenScaleDownOptions,
  type IdleWorkersWindow,
} from './worker-pool-autoscaler';
export type { FunctionPlacement } from './function-placement';
