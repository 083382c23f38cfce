export type SpaceliftErrorKind = 'http' | 'graphql' | 'timeout' | 'network' | 'malformed' | 'auth';

/**
 * Any failure talking to the Spacelift API. `retryable` says whether the failure class is transient
 * (the client already retried it up to `maxAttempts`; a caller may try again on its next tick).
 */
export class SpaceliftApiError extends Error {
  readonly kind: SpaceliftErrorKind;
  readonly retryable: boolean;
  /** HTTP status, when the server answered. */
  readonly status?: number;
  /** GraphQL operation name, e.g. `WorkerPoolSnapshot`. */
  readonly operation: string;
  /** HTTP attempts made before giving up; absent when the reply arrived but its data was unusable. */
  readonly attempts?: number;
  /** `errors[].message` of a GraphQL error response. */
  readonly graphqlMessages: readonly string[];

  constructor(
    kind: SpaceliftErrorKind,
    message: string,
    details: {
      readonly retryable: boolean;
      readonly operation: string;
      readonly attempts?: number;
      readonly status?: number;
      readonly graphqlMessages?: readonly string[];
      readonly cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SpaceliftApiError';
    this.kind = kind;
    this.retryable = details.retryable;
    this.status = details.status;
    this.operation = details.operation;
    this.attempts = details.attempts;
    this.graphqlMessages = details.graphqlMessages ?? [];
  }
}

/**
 * Spacelift's answer to `workerDrainSet` for a worker the pool does not have (any more): a GraphQL error
 * "could not set worker drain to true: not found" (terraform-aws-spacelift-workerpool-on-ec2 #100).
 */
export function isWorkerNotFound(error: unknown): boolean {
  return error instanceof SpaceliftApiError
    && error.operation === 'WorkerDrainSet'
    && error.kind === 'graphql'
    && error.graphqlMessages.some((message) => /\bnot found\b/i.test(message));
}
