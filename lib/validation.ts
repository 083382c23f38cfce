import { type Duration, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { WORKER_POOL_ID } from '../lambda/shared/pool-id';

/** Thrown at synth for props that cannot work. The message always names the prop. */
export class WorkerPoolConfigError extends Error {
  constructor(scope: IConstruct, prop: string, message: string) {
    super(`${scope.node.path}: invalid "${prop}": ${message}`);
    this.name = 'WorkerPoolConfigError';
  }
}

/**
 * The pool id is given exactly when the credentials do not create the pool (`WorkerPoolCredentials.register()`),
 * and a literal id must be a ULID; a token is checked by whoever produces it.
 */
export function validateWorkerPoolId(scope: IConstruct, id: string | undefined, registered: boolean): void {
  if (registered && id !== undefined) {
    throw new WorkerPoolConfigError(scope, 'workerPoolId',
      'must not be set with WorkerPoolCredentials.register(), which creates the pool and provides its id; remove one of them');
  }
  if (registered) return;
  if (id === undefined) {
    throw new WorkerPoolConfigError(scope, 'workerPoolId',
      'is required, unless credentials is WorkerPoolCredentials.register(), which creates the pool in Spacelift');
  }
  if (Token.isUnresolved(id)) return;
  if (!WORKER_POOL_ID.test(id)) {
    throw new WorkerPoolConfigError(scope, 'workerPoolId',
      `"${id}" is not a Spacelift worker pool id (26 upper-case ULID characters, e.g. 01HZXYZ0000000000000000000)`);
  }
}

/** Checks an integer prop when it is known at synth; tokens pass through. */
export function validateInteger(scope: IConstruct, prop: string, value: number | undefined, min: number, max?: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
    throw new WorkerPoolConfigError(scope, prop, `must be an integer ${range}, got ${value}`);
  }
}

/**
 * Refuses a prop given as a token (a CfnParameter, an import) that the construct needs at synth: it shapes the
 * template (a count of resources, a choice of image) or is written into packed user data CloudFormation cannot resolve.
 */
export function requireKnown(scope: IConstruct, prop: string, value: unknown, why: string): void {
  if (value !== undefined && Token.isUnresolved(value)) {
    throw new WorkerPoolConfigError(scope, prop, `must be known at synth, not a token: ${why}`);
  }
}

/** Like `validateInteger`, and the value must be known at synth (`requireKnown`). */
export function validateKnownInteger(scope: IConstruct, prop: string, value: number | undefined, why: string, min: number, max?: number): void {
  requireKnown(scope, prop, value, why);
  validateInteger(scope, prop, value, min, max);
}

/** A duration prop in whole seconds, or the fallback when unset; it must be known at synth. */
export function durationSeconds(scope: IConstruct, prop: string, value: Duration | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const seconds = value.toSeconds();
  if (Token.isUnresolved(seconds)) {
    throw new WorkerPoolConfigError(scope, prop, 'must be known at synth, not a token');
  }
  return seconds;
}
