/**
 * The custom resource's properties, as CloudFormation delivers them (every scalar a string). A bad value fails the
 * event with a message naming the property; the construct validates the same values at synth, so this is a backstop.
 */

export type DeletionPolicy = 'retain' | 'delete';

// The same literals as DEFAULT_TOKEN_KEY / DEFAULT_PRIVATE_KEY_KEY in lib/worker-pool-credentials.ts (the bundle
// cannot import lib/, which pulls in aws-cdk-lib): the variable names the launcher reads.
export const DEFAULT_TOKEN_KEY = 'SPACELIFT_TOKEN';
export const DEFAULT_PRIVATE_KEY_KEY = 'SPACELIFT_POOL_PRIVATE_KEY';

export interface RegistrationProperties {
  readonly name: string;
  readonly description?: string;
  readonly labels: readonly string[];
  /** Space id; absent means Spacelift's default (the root space). */
  readonly space?: string;
  /** The pool's credentials secret; the handler writes the token and the private key into it. */
  readonly secretArn: string;
  readonly tokenKey: string;
  readonly privateKeyKey: string;
  /** Opaque; a change on Update rotates the credentials (workerPoolReset). */
  readonly resetGeneration?: string;
  readonly deletionPolicy: DeletionPolicy;
}

export class PropertyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyError';
  }
}

export function parseProperties(raw: unknown): RegistrationProperties {
  const props = typeof raw === 'object' && raw !== null ? raw as Record<string, unknown> : {};
  const deletionPolicy = optional(props, 'DeletionPolicy') ?? 'retain';
  if (deletionPolicy !== 'retain' && deletionPolicy !== 'delete') {
    throw new PropertyError(`custom resource property DeletionPolicy must be "retain" or "delete", got "${deletionPolicy}"`);
  }
  return {
    name: required(props, 'Name'),
    description: optional(props, 'Description'),
    labels: labels(props.Labels),
    space: optional(props, 'Space'),
    secretArn: required(props, 'SecretArn'),
    tokenKey: optional(props, 'TokenKey') ?? DEFAULT_TOKEN_KEY,
    privateKeyKey: optional(props, 'PrivateKeyKey') ?? DEFAULT_PRIVATE_KEY_KEY,
    resetGeneration: optional(props, 'ResetGeneration'),
    deletionPolicy,
  };
}

function required(props: Record<string, unknown>, name: string): string {
  const value = optional(props, name);
  if (value === undefined) throw new PropertyError(`custom resource property ${name} is required`);
  return value;
}

function optional(props: Record<string, unknown>, name: string): string | undefined {
  const value = props[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new PropertyError(`custom resource property ${name} must be a string`);
  return value.trim() === '' ? undefined : value;
}

function labels(value: unknown): readonly string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((label) => typeof label !== 'string' || label.trim() === '')) {
    throw new PropertyError('custom resource property Labels must be a list of non-empty strings');
  }
  return value as string[];
}
