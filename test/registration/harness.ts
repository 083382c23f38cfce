/**
 * The registration handler wired to a fake Spacelift and a mocked Secrets Manager, with a recording logger,
 * a settable remaining time and fast (1024-bit) keys; the 4096-bit default is checked in credentials.test.ts and
 * through the entry points.
 */
import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { generateWorkerPoolCredentials, type WorkerPoolCredentials } from '../../lambda/registration/credentials';
import { createRegistrationHandler, type RegistrationResponse } from '../../lambda/registration/handler';
import { createPoolManagementApi, type PoolManagementApi } from '../../lambda/registration/pools';
import { secretsManagerStore } from '../../lambda/registration/secret';
import { recordingLogger } from '../spacelift/harness';
import { FakeSpacelift } from '../support/fake-spacelift';

export const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/pool-stack/6a8b5f10-0000-11ef-8000-0a1b2c3d4e5f';
export const LOGICAL_ID = 'PoolRegistration1A2B3C4D';
export const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pool-credentials-AbCdEf';

export type Props = Record<string, unknown>;

/** What lib/worker-pool-credentials.ts's generated placeholder looks like. */
export const PLACEHOLDER_SECRET = '{"placeholder":"Xq3v9AbCdEfGhIjKlMnOpQrStUvWxYz0"}';

export function props(overrides: Props = {}): Props {
  return { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider', Name: 'ci-pool', SecretArn: SECRET_ARN, ...overrides };
}

export interface Outcome {
  readonly response?: RegistrationResponse;
  readonly error?: Error;
}

export class RegistrationHarness {
  fake!: FakeSpacelift;
  readonly secrets = mockClient(SecretsManagerClient);
  readonly logger = recordingLogger();
  /** Every credential handed to the handler, in order. */
  readonly credentials: WorkerPoolCredentials[] = [];
  readonly sleeps: number[] = [];
  remainingMs = 300_000;
  timeoutMs = 2_000;
  /** Real time each backoff sleep takes (default none). */
  sleepRealMs = 0;
  /** Whether a sleep uses up `remainingMs`, as it would the invocation's time (default not). */
  sleepsUseRemainingTime = false;
  stackId = STACK_ID;
  /** The secret's current value; a new stack's secret starts with the placeholder CloudFormation generated. */
  secretValue: string | undefined;
  /** Fails every write without a ClientRequestToken (a reset's final write, not its claim) with this error. */
  failPlainWrites: Error | undefined;
  /** The secret's versions written with a ClientRequestToken, by token. */
  readonly versions = new Map<string, string | undefined>();
  /** What the handler sends as the API key secret; default the fake's. */
  apiKeySecret: string | undefined;
  /** Replaces some of the client's calls (for answers the fake never gives). */
  apiOverride: Partial<PoolManagementApi> = {};

  async start(): Promise<this> {
    this.fake = await FakeSpacelift.start();
    this.secrets.reset();
    this.secretValue = PLACEHOLDER_SECRET;
    this.versions.clear();
    this.failPlainWrites = undefined;
    // Secrets Manager as a store: a read returns the last value written. A ClientRequestToken names a version: the same
    // token again with the same value is ignored, with another value refused (ResourceExistsException); a read with
    // VersionId returns that version, or ResourceNotFoundException.
    // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
    this.secrets.on(PutSecretValueCommand).callsFake((input: { SecretString?: string; ClientRequestToken?: string }) => {
      const token = input.ClientRequestToken;
      if (token === undefined && this.failPlainWrites !== undefined) throw this.failPlainWrites;
      if (token !== undefined && this.versions.has(token)) {
        if (this.versions.get(token) !== input.SecretString) {
          throw Object.assign(new Error(`A version with ClientRequestToken ${token} already exists with another value`), { name: 'ResourceExistsException' });
        }
        return { ARN: SECRET_ARN, VersionId: token };
      }
      if (token !== undefined) this.versions.set(token, input.SecretString);
      this.secretValue = input.SecretString;
      return { ARN: SECRET_ARN };
    });
    this.secrets.on(GetSecretValueCommand).callsFake((input: { VersionId?: string }) => {
      if (input.VersionId === undefined) return { ARN: SECRET_ARN, SecretString: this.secretValue };
      if (!this.versions.has(input.VersionId)) {
        throw Object.assign(new Error(`Secrets Manager can't find the specified secret value for VersionId: ${input.VersionId}`), { name: 'ResourceNotFoundException' });
      }
      return { ARN: SECRET_ARN, SecretString: this.versions.get(input.VersionId), VersionId: input.VersionId };
    });
    return this;
  }

  async close(): Promise<void> {
    this.secrets.restore();
    await this.fake.close();
  }

  private handler() {
    return createRegistrationHandler({
      connect: (retry) => ({
        ...createPoolManagementApi({
          url: `${this.fake.endpoint}/graphql`,
          apiKeyId: this.fake.apiKeyId,
          apiKeySecret: async () => this.apiKeySecret ?? this.fake.apiKeySecret,
          timeoutMs: this.timeoutMs,
          retry,
          logger: this.logger,
        }),
        ...this.apiOverride,
      }),
      secret: secretsManagerStore(() => new SecretsManagerClient({ region: 'eu-west-1' })),
      newCredentials: () => {
        const credentials = generateWorkerPoolCredentials(1024);
        this.credentials.push(credentials);
        return credentials;
      },
      logger: this.logger,
      sleep: async (ms) => {
        this.sleeps.push(ms);
        if (this.sleepsUseRemainingTime) this.remainingMs -= ms;
        // At least a turn of the event loop, as a real sleep gives: a waiting loop must let the other copy's calls run.
        await new Promise((resolve) => setTimeout(resolve, this.sleepRealMs));
      },
      random: () => 0.5,
      apiKeyId: this.fake.apiKeyId,
      endpoint: this.fake.endpoint,
    });
  }

  async send(event: CloudFormationCustomResourceEvent): Promise<Outcome> {
    return this.handler()(event, { getRemainingTimeInMillis: () => this.remainingMs }).then(
      (response) => ({ response }),
      (error: Error) => ({ error }),
    );
  }

  async create(resourceProps: Props = props()): Promise<Outcome> {
    return this.send(this.createEvent(resourceProps));
  }

  async update(physicalResourceId: string, resourceProps: Props, oldProps: Props = props()): Promise<Outcome> {
    return this.send(this.updateEvent(physicalResourceId, resourceProps, oldProps));
  }

  /** A Create event with a new RequestId: send it twice for a duplicate delivery. */
  createEvent(resourceProps: Props = props()): CloudFormationCustomResourceEvent {
    return { ...this.common(resourceProps), RequestType: 'Create' };
  }

  updateEvent(physicalResourceId: string, resourceProps: Props, oldProps: Props = props()): CloudFormationCustomResourceEvent {
    return { ...this.common(resourceProps), RequestType: 'Update', PhysicalResourceId: physicalResourceId, OldResourceProperties: oldProps as { ServiceToken: string } };
  }

  async delete(physicalResourceId: string, resourceProps: Props = props({ DeletionPolicy: 'delete' })): Promise<Outcome> {
    return this.send({ ...this.common(resourceProps), RequestType: 'Delete', PhysicalResourceId: physicalResourceId });
  }

  /** The SecretString of every PutSecretValue, parsed, with its SecretId. */
  writes(): { secretId: string; value: Record<string, string> }[] {
    return this.secrets.commandCalls(PutSecretValueCommand).map((call) => ({
      secretId: call.args[0].input.SecretId!,
      value: JSON.parse(call.args[0].input.SecretString!),
    }));
  }

  /** Everything the handler let out: log lines and thrown messages. */
  output(outcomes: readonly Outcome[]): string {
    return JSON.stringify(this.logger.entries) + outcomes.map((o) => `${JSON.stringify(o.response)} ${o.error?.message ?? ''}`).join('\n');
  }

  private common(resourceProps: Props) {
    return {
      ServiceToken: String(resourceProps.ServiceToken),
      ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x',
      StackId: this.stackId,
      RequestId: randomUUID(),
      LogicalResourceId: LOGICAL_ID,
      ResourceType: 'Custom::SpaceliftWorkerPool',
      ResourceProperties: resourceProps as { ServiceToken: string },
    };
  }
}

/** The unwrapped response, or a test failure that shows the handler's error. */
export function ok(outcome: Outcome): RegistrationResponse {
  if (outcome.error) throw new Error(`expected success, the handler threw: ${outcome.error.message}`);
  return outcome.response!;
}

export function failed(outcome: Outcome): string {
  if (!outcome.error) throw new Error(`expected a failure, the handler answered ${JSON.stringify(outcome.response)}`);
  return outcome.error.message;
}
