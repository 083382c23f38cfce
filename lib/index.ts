export * from './spacelift-worker-pool';
export * from './worker-pool-credentials';
export * from './spacelift-api-key';
export * from './worker-image';
export * from './worker-log-groups';
export * from './worker-drain';
export * from './worker-pool-autoscaler';
export * from './function-placement';
