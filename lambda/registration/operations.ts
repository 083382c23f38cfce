/**
 * The GraphQL operations that manage a worker pool, with the arguments terraform-provider-spacelift's
 * `spacelift_worker_pool` sends, and the checks that turn their `data` into plain values. Values always travel
 * as variables. `config` (the pool token) is selected only where it is needed, and never logged.
 */
import { SpaceliftApiError } from '../spacelift/errors';
import { isRecord, type GraphQLRequest } from '../spacelift/http';

export interface PoolInput {
  readonly name: string;
  readonly description?: string;
  readonly labels: readonly string[];
  readonly space?: string;
}

export interface PoolSummary {
  readonly id: string;
  readonly name: string;
  readonly labels: readonly string[];
}

export interface PoolWorkers {
  readonly id: string;
  readonly labels: readonly string[];
  readonly busyWorkers: number;
}

export interface PoolCredentialsReply {
  readonly id: string;
  /** The pool token (base64): secret. */
  readonly config: string;
}

const POOL_ARGS = '$name: String!, $description: String, $labels: [String!], $space: ID';
const POOL_VALUES = 'name: $name, description: $description, labels: $labels, space: $space';

export function workerPoolsRequest(): GraphQLRequest {
  return { operationName: 'WorkerPools', query: 'query WorkerPools { workerPools { id name labels } }', variables: {} };
}

export function workerPoolRequest(id: string): GraphQLRequest {
  return {
    operationName: 'WorkerPool',
    query: 'query WorkerPool($id: ID!) { workerPool(id: $id) { id labels workers { id busy } } }',
    variables: { id },
  };
}

/** The pool's current token, to finish adopting a pool whose key we already hold. */
export function workerPoolConfigRequest(id: string): GraphQLRequest {
  return {
    operationName: 'WorkerPoolConfig',
    query: 'query WorkerPoolConfig($id: ID!) { workerPool(id: $id) { id config } }',
    variables: { id },
  };
}

export function workerPoolCreateRequest(input: PoolInput, csr: string): GraphQLRequest {
  return {
    operationName: 'WorkerPoolCreate',
    query: `mutation WorkerPoolCreate(${POOL_ARGS}, $csr: String!) `
      + `{ workerPoolCreate(${POOL_VALUES}, certificateSigningRequest: $csr) { id config } }`,
    variables: { ...poolVariables(input), csr },
  };
}

export function workerPoolUpdateRequest(id: string, input: PoolInput): GraphQLRequest {
  return {
    operationName: 'WorkerPoolUpdate',
    query: `mutation WorkerPoolUpdate($id: ID!, ${POOL_ARGS}) { workerPoolUpdate(id: $id, ${POOL_VALUES}) { id } }`,
    variables: { id, ...poolVariables(input) },
  };
}

export function workerPoolResetRequest(id: string, csr: string): GraphQLRequest {
  return {
    operationName: 'WorkerPoolReset',
    query: 'mutation WorkerPoolReset($id: ID!, $csr: String!) { workerPoolReset(id: $id, certificateSigningRequest: $csr) { id config } }',
    variables: { id, csr },
  };
}

export function workerPoolDeleteRequest(id: string): GraphQLRequest {
  return {
    operationName: 'WorkerPoolDelete',
    query: 'mutation WorkerPoolDelete($id: ID!) { workerPoolDelete(id: $id) { id } }',
    variables: { id },
  };
}

function poolVariables(input: PoolInput): Record<string, unknown> {
  return { name: input.name, description: input.description ?? null, labels: [...input.labels], space: input.space ?? null };
}

export function parseWorkerPools(data: Record<string, unknown>): PoolSummary[] {
  const pools = data.workerPools;
  if (!Array.isArray(pools)) throw malformed('WorkerPools', 'workerPools is not a list');
  return pools.map((pool) => {
    if (!isRecord(pool) || typeof pool.id !== 'string' || typeof pool.name !== 'string' || !isStringList(pool.labels)) {
      throw malformed('WorkerPools', 'a pool lacks id, name or labels');
    }
    return { id: pool.id, name: pool.name, labels: pool.labels };
  });
}

/** undefined when the pool does not exist (or the key cannot see it). */
export function parseWorkerPool(data: Record<string, unknown>): PoolWorkers | undefined {
  const pool = data.workerPool;
  if (pool === null || pool === undefined) return undefined;
  if (!isRecord(pool) || typeof pool.id !== 'string' || !isStringList(pool.labels) || !Array.isArray(pool.workers)) {
    throw malformed('WorkerPool', 'workerPool lacks id, labels or workers');
  }
  const busy = pool.workers.map((worker) => {
    if (!isRecord(worker) || typeof worker.busy !== 'boolean') throw malformed('WorkerPool', 'a worker lacks busy');
    return worker.busy;
  });
  return { id: pool.id, labels: pool.labels, busyWorkers: busy.filter(Boolean).length };
}

export function parseCredentialsReply(data: Record<string, unknown>, field: 'workerPoolCreate' | 'workerPoolReset' | 'workerPool'): PoolCredentialsReply {
  const pool = data[field];
  if (!isRecord(pool) || typeof pool.id !== 'string' || pool.id === '' || typeof pool.config !== 'string' || pool.config === '') {
    throw malformed(field, `${field} returned no id or config`);
  }
  return { id: pool.id, config: pool.config };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function malformed(operation: string, detail: string): SpaceliftApiError {
  return new SpaceliftApiError('malformed', `Spacelift ${operation} returned unexpected data: ${detail}`, { retryable: false, operation });
}
