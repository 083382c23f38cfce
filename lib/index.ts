export * from './spacelift-worker-pool';
export * from './worker-pool-credentials';
export * from './spacelift-api-key';
export * from './worker-image';
export * from './worker-log-groups';
