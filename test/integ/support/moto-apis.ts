/**
 * The few CloudFormation, Lambda and EventBridge reads the tests make, as plain HTTP calls to moto.
 * The project has no @aws-sdk/client-cloudformation, -lambda or -eventbridge (the handlers do not
 * need them), and moto does not check signatures: the Authorization header only tells moto which
 * service and region a request on `/` is for.
 */
import { assertLoopbackOnly, REGION } from './moto';

function authorization(service: string): string {
  return `AWS4-HMAC-SHA256 Credential=test/20260101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

async function call(service: string, path: string, init: RequestInit = {}): Promise<string> {
  const response = await fetch(`${assertLoopbackOnly()}${path}`, {
    ...init,
    headers: { authorization: authorization(service), ...(init.headers as Record<string, string> | undefined) },
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`moto ${service} ${init.method ?? 'GET'} ${path}: HTTP ${response.status}: ${body.slice(0, 500)}`);
  return body;
}

export interface StackResource {
  readonly logicalId?: string;
  readonly physicalId?: string;
  readonly type?: string;
  readonly status?: string;
}

export interface StackDescription {
  readonly status: string;
  /** Undefined when moto returned no Outputs element at all. */
  readonly outputs?: Readonly<Record<string, string>>;
}

/** CloudFormation (query protocol, XML). */
export const cloudFormation = {
  async describeStack(stackName: string): Promise<StackDescription> {
    const xml = await query('DescribeStacks', { StackName: stackName });
    // One stack was asked for; its members nest (Outputs, Tags), so it is read as a whole.
    const stack = between(xml, 'Stacks') ?? '';
    const outputsXml = between(stack, 'Outputs');
    const outputs = outputsXml === undefined
      ? undefined
      : Object.fromEntries(members(outputsXml).map((m) => [tag(m, 'OutputKey') ?? '', tag(m, 'OutputValue') ?? '']));
    return { status: tag(stack, 'StackStatus') ?? 'UNKNOWN', outputs };
  },

  async describeStackResources(stackName: string): Promise<StackResource[]> {
    const xml = await query('DescribeStackResources', { StackName: stackName });
    return members(between(xml, 'StackResources') ?? '').map((m) => ({
      logicalId: tag(m, 'LogicalResourceId'),
      physicalId: tag(m, 'PhysicalResourceId'),
      type: tag(m, 'ResourceType'),
      status: tag(m, 'ResourceStatus'),
    }));
  },
};

async function query(action: string, params: Record<string, string>): Promise<string> {
  return call('cloudformation', '/', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ Action: action, Version: '2010-05-15', ...params }).toString(),
  });
}

/** Lambda (REST, JSON). */
export const lambdaApi = {
  async getFunctionConfiguration(name: string): Promise<FunctionConfiguration> {
    return JSON.parse(await call('lambda', `/2015-03-31/functions/${encodeURIComponent(name)}/configuration`)) as FunctionConfiguration;
  },
  async getReservedConcurrency(name: string): Promise<number | undefined> {
    const body = await call('lambda', `/2019-09-30/functions/${encodeURIComponent(name)}/concurrency`);
    return (JSON.parse(body) as { ReservedConcurrentExecutions?: number }).ReservedConcurrentExecutions;
  },
  async listEventSourceMappings(functionName: string): Promise<EventSourceMapping[]> {
    const body = await call('lambda', `/2015-03-31/event-source-mappings/?FunctionName=${encodeURIComponent(functionName)}`);
    return (JSON.parse(body) as { EventSourceMappings?: EventSourceMapping[] }).EventSourceMappings ?? [];
  },
};

export interface FunctionConfiguration {
  readonly FunctionName: string;
  readonly FunctionArn: string;
  readonly Handler: string;
  readonly Runtime: string;
  readonly Timeout: number;
  readonly MemorySize: number;
  readonly Architectures?: string[];
  readonly Environment?: { readonly Variables?: Readonly<Record<string, string>> };
}

export interface EventSourceMapping {
  readonly EventSourceArn?: string;
  readonly FunctionArn?: string;
  readonly BatchSize?: number;
  readonly FunctionResponseTypes?: string[];
}

/** EventBridge (JSON 1.1). */
export const events = {
  async listRules(): Promise<EventRule[]> {
    return ((await eventsCall('ListRules', {})) as { Rules?: EventRule[] }).Rules ?? [];
  },
  async listTargets(rule: string): Promise<EventTarget[]> {
    return ((await eventsCall('ListTargetsByRule', { Rule: rule })) as { Targets?: EventTarget[] }).Targets ?? [];
  },
};

export interface EventRule {
  readonly Name: string;
  readonly State?: string;
  readonly ScheduleExpression?: string;
  readonly EventPattern?: string;
}

export interface EventTarget {
  readonly Arn: string;
  readonly RetryPolicy?: { readonly MaximumRetryAttempts?: number; readonly MaximumEventAgeInSeconds?: number };
}

async function eventsCall(target: string, body: object): Promise<unknown> {
  return JSON.parse(await call('events', '/', {
    method: 'POST',
    headers: { 'x-amz-target': `AWSEvents.${target}`, 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify(body),
  }));
}

// Just enough XML for moto's CloudFormation answers: no attributes, no nesting of equal tag names
// inside the fields we read.
function between(xml: string, name: string): string | undefined {
  const start = xml.indexOf(`<${name}>`);
  if (start < 0) return undefined;
  const end = xml.lastIndexOf(`</${name}>`);
  return xml.slice(start + name.length + 2, end);
}

function members(xml: string): string[] {
  return [...xml.matchAll(/<member>([\s\S]*?)<\/member>/g)].map((m) => m[1]);
}

function tag(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return match === null ? undefined : decodeXml(match[1]);
}

function decodeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
