/**
 * Drives a webhook entry point (the TypeScript source or the esbuild bundle) in-process the way a function URL
 * would, with the AWS SDK mocked, a settable clock and every line it prints captured.
 */
import { createHmac } from 'node:crypto';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { capturedRun } from '../support/captured-run';

export const SECRET = 'whsec-7d1c0f9e2b4a';
export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pool-webhook-AbCdEf';
export const AUTOSCALER_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:pool-autoscaler';
/** A string every test body carries, so the logs can be searched for any trace of a body. */
export const BODY_MARKER = 'body-marker-5f2e8a';
export const T0 = 1_800_000_000;

export const ENV: Readonly<Record<string, string>> = {
  WEBHOOK_SECRET_ARN: SECRET_ARN,
  AUTOSCALER_FUNCTION_NAME: AUTOSCALER_ARN,
  AWS_REGION: 'us-east-1',
};

export function sign(body: string | Buffer, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A Spacelift-like run event body, unique per `runId` and `timestamp`. */
export function runEvent(overrides: Record<string, unknown> = {}, nowSeconds = T0): string {
  return JSON.stringify({
    account: 'acme',
    state: 'QUEUED',
    stateVersion: 1,
    timestamp: nowSeconds,
    run: { id: '01RUN', type: 'TRACKED', note: BODY_MARKER },
    stack: { id: 'infra' },
    ...overrides,
  });
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly isBase64Encoded?: boolean;
}

/** A function URL request (payload format 2.0) carrying `body` as given. */
export function request(body: string | undefined, options: RequestOptions = {}): LambdaFunctionURLEvent {
  const method = options.method ?? 'POST';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'user-agent': 'Spacelift', ...options.headers },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc123',
      http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'Spacelift' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2027:00:00:00 +0000',
      timeEpoch: 0,
    },
    body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

/** A request whose `x-signature-256` is the body's signature under `secret`. */
export function signed(body: string, secret = SECRET, options: RequestOptions = {}): LambdaFunctionURLEvent {
  return request(body, { ...options, headers: { 'x-signature-256': sign(body, secret), ...options.headers } });
}

export interface Reply {
  readonly statusCode: number;
  readonly headers?: Record<string, string | number | boolean>;
  readonly body: string;
}

export interface Answer {
  readonly reply: Reply;
  /** Everything printed during the call, raw. */
  readonly output: string;
  /** The Powertools log lines (EMF metric lines excluded). */
  readonly logs: readonly Record<string, unknown>[];
  /** The EMF metric lines. */
  readonly emf: readonly Record<string, unknown>[];
}

export interface Endpoint {
  /** The mocks of this copy's SDK clients, to make a call fail. */
  readonly lambda: AwsStub<any, any, any>;
  readonly secrets: AwsStub<any, any, any>;
  /** The input of every Lambda API call, in order. */
  invokes(): Record<string, unknown>[];
  /** The input of every Secrets Manager call, in order. */
  secretReads(): Record<string, unknown>[];
  call(event: LambdaFunctionURLEvent): Promise<Answer>;
  /** Calls expected to throw (configuration errors), with what they printed. */
  fail(event: LambdaFunctionURLEvent): Promise<{ error: unknown; output: string }>;
}

type Handler = (event: LambdaFunctionURLEvent, context: Context) => Promise<Reply>;

const context = { functionName: 'pool-webhook', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

/**
 * A fresh copy of the module (its own container state) and of the AWS SDK clients it loads, whose `send` is
 * mocked: Secrets Manager returns SECRET and Lambda accepts every invoke, unless a test says otherwise. Each call
 * runs with ENV plus `env` (undefined removes a variable) on process.env.
 */
export function loadEndpoint(modulePath: string, env: Record<string, string | undefined> = {}): Endpoint {
  let entry: { handler: Handler } | undefined;
  let sdk: { lambda: typeof import('@aws-sdk/client-lambda'); secrets: typeof import('@aws-sdk/client-secrets-manager') } | undefined;
  jest.isolateModules(() => {
    sdk = { lambda: require('@aws-sdk/client-lambda'), secrets: require('@aws-sdk/client-secrets-manager') };
    entry = require(modulePath);
  });
  const lambda = mockClient(sdk!.lambda.LambdaClient);
  const secrets = mockClient(sdk!.secrets.SecretsManagerClient);
  lambda.onAnyCommand().resolves({ StatusCode: 202 });
  secrets.onAnyCommand().resolves({ SecretString: SECRET });

  const run = async (event: LambdaFunctionURLEvent) => {
    const { outcome, output } = await capturedRun({ ...ENV, ...env }, () => entry!.handler(event, context));
    return { ...('value' in outcome ? { reply: outcome.value } : { error: outcome.error }), output };
  };

  return {
    lambda,
    secrets,
    invokes: () => lambda.calls().map((call) => ({ ...call.args[0].input })),
    secretReads: () => secrets.calls().map((call) => ({ ...call.args[0].input })),
    async call(event) {
      const outcome = await run(event);
      if ('error' in outcome) throw new Error(`the handler threw: ${String(outcome.error)}\n${outcome.output}`);
      const lines = outcome.output.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
      return {
        reply: outcome.reply,
        output: outcome.output,
        logs: lines.filter((line) => !('_aws' in line)),
        emf: lines.filter((line) => '_aws' in line),
      };
    },
    async fail(event) {
      const outcome = await run(event);
      if (!('error' in outcome)) throw new Error(`the handler answered ${JSON.stringify(outcome.reply)}`);
      return { error: outcome.error, output: outcome.output };
    },
  };
}

/** Unix time in seconds, as Date.now reports it to the handler. */
export class Clock {
  constructor(public seconds = T0) {
    jest.spyOn(Date, 'now').mockImplementation(() => this.seconds * 1000);
  }

  advance(seconds: number): void {
    this.seconds += seconds;
  }
}

/** The request log lines: the one line each request writes (the configuration line excluded). */
export function requestLines(answer: Answer): Record<string, unknown>[] {
  return answer.logs.filter((line) => String(line.message).startsWith('webhook request'));
}

/** The metric values of the EMF lines, each with its dimension names. */
export function metricsOf(answer: Answer): { name: string; dimensions: string[]; values: Record<string, unknown> }[] {
  return answer.emf.flatMap((line) => {
    const directives = (line._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics;
    return directives.flatMap((d) => d.Metrics.map((m) => ({ name: m.Name, dimensions: d.Dimensions.flat(), values: line })));
  });
}
