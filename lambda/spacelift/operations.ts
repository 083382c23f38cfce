/**
 * The three GraphQL operations we send, and the checks that turn their `data` into core types.
 * Values always travel as variables; only the selection set is assembled from fixed fragments.
 */
import { parseWorkerMetadata } from '../core/metadata';
import type { PoolSnapshot, Worker } from '../core/types';
import { SpaceliftApiError } from './errors';
import { isRecord, type GraphQLRequest } from './http';

export function apiKeyUserRequest(id: string, secret: string): GraphQLRequest {
  return {
    operationName: 'ApiKeyUser',
    query: 'mutation ApiKeyUser($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { jwt validUntil } }',
    variables: { id, secret },
  };
}

export function workerPoolRequest(
  workerPool: string,
  fields: { readonly availableAt: boolean; readonly schedulableRunsCount: boolean; readonly busyWorkers: boolean },
): GraphQLRequest {
  const worker = `id busy createdAt${fields.availableAt ? ' availableAt' : ''} drained metadata`;
  const counts = `pendingRuns${fields.schedulableRunsCount ? ' schedulableRunsCount' : ''}${fields.busyWorkers ? ' busyWorkers' : ''}`;
  const pool = `${counts} workers { ${worker} }`;
  return {
    operationName: 'WorkerPoolSnapshot',
    query: `query WorkerPoolSnapshot($workerPool: ID!) { workerPool(id: $workerPool) { ${pool} } }`,
    variables: { workerPool },
  };
}

// No availableAt in the result: self-hosted servers without it would reject the whole mutation.
export function workerDrainSetRequest(workerPool: string, id: string, drain: boolean): GraphQLRequest {
  return {
    operationName: 'WorkerDrainSet',
    query: 'mutation WorkerDrainSet($workerPool: ID!, $id: ID!, $drain: Boolean!) '
      + '{ workerDrainSet(workerPool: $workerPool, id: $id, drain: $drain) { id busy createdAt drained metadata } }',
    variables: { workerPool, id, drain },
  };
}

export interface ApiToken {
  readonly jwt: string;
  /** Epoch seconds. */
  readonly validUntil: number;
}

export function parseApiKeyUser(data: Record<string, unknown>, apiKeyId: string): ApiToken {
  const user = data.apiKeyUser;
  if (user === null || user === undefined) {
    throw new SpaceliftApiError('auth', `Spacelift rejected API key ${apiKeyId} (wrong id or secret, or the key was deleted)`, {
      retryable: false,
      operation: 'ApiKeyUser',
    });
  }
  if (!isRecord(user) || typeof user.jwt !== 'string' || user.jwt === '' || !isFiniteNumber(user.validUntil)) {
    throw malformed('ApiKeyUser', 'apiKeyUser has no jwt or validUntil');
  }
  return { jwt: user.jwt, validUntil: user.validUntil };
}

export function parseWorkerPool(data: Record<string, unknown>, workerPoolId: string, withSchedulable: boolean): PoolSnapshot {
  const operation = 'WorkerPoolSnapshot';
  const pool = data.workerPool;
  if (pool === null || pool === undefined) {
    throw new SpaceliftApiError(
      'graphql',
      `Spacelift worker pool ${workerPoolId} not found, or the API key cannot read it (it needs Space:Read on the pool's space)`,
      { retryable: false, operation },
    );
  }
  if (!isRecord(pool) || !isCount(pool.pendingRuns) || !Array.isArray(pool.workers)) {
    throw malformed(operation, 'workerPool lacks pendingRuns or workers');
  }
  const workers = pool.workers.map((raw) => parseListedWorker(raw, operation));
  // Only a count is a cross-check of the list; anything else is left out, not trusted.
  const busyWorkers = isCount(pool.busyWorkers) ? { busyWorkers: pool.busyWorkers } : {};
  if (!withSchedulable) return { pendingRuns: pool.pendingRuns, ...busyWorkers, workers };
  if (!isCount(pool.schedulableRunsCount)) throw malformed(operation, 'workerPool lacks schedulableRunsCount');
  return { pendingRuns: pool.pendingRuns, schedulableRunsCount: pool.schedulableRunsCount, ...busyWorkers, workers };
}

export function parseDrainedWorker(data: Record<string, unknown>): Worker {
  return parseWorker(data.workerDrainSet, 'WorkerDrainSet');
}

function parseWorker(raw: unknown, operation: string): Worker {
  if (
    !isRecord(raw)
    || typeof raw.id !== 'string'
    || typeof raw.busy !== 'boolean'
    || typeof raw.drained !== 'boolean'
    || !isFiniteNumber(raw.createdAt)
    || !(raw.availableAt === undefined || raw.availableAt === null || isFiniteNumber(raw.availableAt))
    || !(raw.metadata === undefined || raw.metadata === null || typeof raw.metadata === 'string')
  ) {
    throw malformed(operation, 'a worker lacks id, busy, drained or createdAt, or has fields of the wrong type');
  }
  return {
    id: raw.id,
    busy: raw.busy,
    drained: raw.drained,
    createdAt: raw.createdAt,
    ...(isFiniteNumber(raw.availableAt) ? { availableAt: raw.availableAt } : {}),
    metadata: parseWorkerMetadata(raw.metadata),
  };
}

/**
 * A worker of the pool's list. One with an id but other fields missing or mistyped does not fail the whole list
 * (every decision would stop); it becomes a worker with invalid metadata, which is never drained or terminated, busy
 * unless the answer says otherwise, and, without a readable createdAt, created at an unknown time (after every
 * launch), so it may run on any instance and holds any that a termination or repair would take.
 */
function parseListedWorker(raw: unknown, operation: string): Worker {
  try {
    return parseWorker(raw, operation);
  } catch (error) {
    if (!isRecord(raw) || typeof raw.id !== 'string' || raw.id === '') throw error;
    return {
      id: raw.id,
      busy: typeof raw.busy === 'boolean' ? raw.busy : true,
      drained: raw.drained === true,
      createdAt: isFiniteNumber(raw.createdAt) ? raw.createdAt : Number.MAX_SAFE_INTEGER,
      metadata: { valid: false, reason: 'the worker list gave fields of the wrong type for this worker' },
    };
  }
}

function malformed(operation: string, detail: string): SpaceliftApiError {
  return new SpaceliftApiError('malformed', `Spacelift ${operation} returned unexpected data: ${detail}`, {
    retryable: false,
    operation,
  });
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}
