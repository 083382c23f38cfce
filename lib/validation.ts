import { type Duration, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Thrown at synth for props that cannot work. The message always names the prop. */
export class WorkerPoolConfigError extends Error {
  constructor(scope: IConstruct, prop: string, message: string) {
    super(`${scope.node.path}: invalid "${prop}": ${message}`);
    this.name = 'WorkerPoolConfigError';
  }
}

/** Spacelift worker pool ids are ULIDs: 26 characters of Crockford base32. */
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function validateWorkerPoolId(scope: IConstruct, id: string): void {
  if (Token.isUnresolved(id)) return;
  if (!ULID.test(id)) {
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

/** A duration prop in whole seconds, or the fallback when unset; it must be known at synth. */
export function durationSeconds(scope: IConstruct, prop: string, value: Duration | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const seconds = value.toSeconds();
  if (Token.isUnresolved(seconds)) {
    throw new WorkerPoolConfigError(scope, prop, 'must be known at synth, not a token');
  }
  return seconds;
}
