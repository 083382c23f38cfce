/**
 * Turns a failed step into the one-line reason CloudFormation shows in the stack events: what we tried, why it
 * failed, and what to change. Every message goes through `scrub`, so no key, CSR, token or JWT can reach a stack
 * event or a log line even if a server echoed one back.
 */
import { SpaceliftApiError } from '../spacelift/errors';

export class RegistrationError extends Error {
  constructor(message: string) {
    super(scrub(message));
    this.name = 'RegistrationError';
  }
}

export interface FailureContext {
  readonly apiKeyId: string;
  readonly endpoint: string;
  /** The space the pool is (to be) in; undefined is Spacelift's default, the root space. */
  readonly space?: string;
  readonly name?: string;
}

// Spacelift answers a missing permission with a GraphQL error such as "unauthorized" or "forbidden".
const PERMISSION = /unauthori[sz]ed|forbidden|permission|not allowed|access denied|insufficient/i;
const NAME_TAKEN = /already (exists|taken|in use)|is taken|duplicate|unique/i;

/** `step` says what failed, e.g. `Could not create Spacelift worker pool "ci"`. */
export function explain(step: string, err: unknown, ctx: FailureContext): RegistrationError {
  if (!(err instanceof SpaceliftApiError)) {
    return new RegistrationError(`${step}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const detail = err.message;
  if (err.operation === 'ApiKeyUser' && (err.kind === 'auth' || err.kind === 'graphql')) {
    return new RegistrationError(`${step}: Spacelift rejected API key ${ctx.apiKeyId} at ${ctx.endpoint}: the key id or secret is wrong, `
      + `or the key was deleted (${detail}). Check SPACELIFT_API_KEY_ID and the secret SPACELIFT_API_KEY_SECRET_ARN points to`);
  }
  if (err.kind === 'auth' || (err.kind === 'graphql' && err.graphqlMessages.some((m) => PERMISSION.test(m)))) {
    // The JWT was exchanged moments ago, so a rejection now is about what the key may do, not who it is.
    return new RegistrationError(`${step}: API key ${ctx.apiKeyId} is not allowed to manage worker pools in space `
      + `"${ctx.space ?? 'root'}" (${detail}). Give the key the Space Admin role on that space (an admin key), or a role with `
      + 'Space: Read and Worker pool: Create, Update and Delete, such as Spacelift\'s "Worker pool controller" system role, bound on that space');
  }
  if (err.kind === 'graphql' && ctx.name !== undefined && err.graphqlMessages.some((m) => NAME_TAKEN.test(m))) {
    return new RegistrationError(`${step}: a worker pool named "${ctx.name}" already exists in Spacelift (${detail}). `
      + 'Choose another Name, or rename or delete the existing pool');
  }
  if (err.kind === 'http' && err.retryable) {
    return new RegistrationError(`${step}: Spacelift at ${ctx.endpoint} is unavailable or throttling (${detail}); `
      + 'the deployment can be retried safely');
  }
  if (err.kind === 'timeout' || err.kind === 'network') {
    return new RegistrationError(`${step}: no answer from Spacelift at ${ctx.endpoint} (${detail}). Check that the function can `
      + 'reach it (VPC egress, proxy, DNS); the deployment can be retried safely');
  }
  return new RegistrationError(`${step}: ${detail}`);
}

/** The answer to an operation on a pool id Spacelift does not know. */
export function isPoolNotFound(err: unknown): boolean {
  return err instanceof SpaceliftApiError && err.kind === 'graphql' && err.graphqlMessages.some((m) => /\bnot found\b/i.test(m));
}

/** PEM blocks and long base64 runs (keys, CSRs, tokens) are cut out; ARNs, ids and prose are untouched. */
export function scrub(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g, '[redacted]')
    .replace(/[A-Za-z0-9+/]{100,}={0,2}/g, '[redacted]');
}
