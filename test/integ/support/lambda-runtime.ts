/**
 * Runs a bundled handler in-process the way Lambda would: with the function's own environment (as
 * deployed in moto, plus overrides), a context whose remaining time counts down from the function's
 * timeout, and its log lines captured instead of printed.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LogLine {
  readonly level?: string;
  readonly message?: string;
  readonly [key: string]: unknown;
}

export interface Invocation<T> {
  readonly result: T;
  /** Powertools log lines (JSON), EMF metric lines and anything else the handler printed. */
  readonly logs: readonly LogLine[];
}

export interface DeployedFunction {
  readonly name: string;
  readonly timeoutSeconds: number;
  readonly environment: Readonly<Record<string, string>>;
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * Invokes `handler` with `fn`'s environment set on process.env for the duration of the call (each
 * test file has its own process.env). Set INTEG_VERBOSE=1 to see the handler's output as well.
 */
export async function invoke<E, R>(fn: DeployedFunction, handler: Handler<E, R>, event: E): Promise<Invocation<R>> {
  const saved = new Map(Object.keys(fn.environment).map((key) => [key, process.env[key]]));
  Object.assign(process.env, fn.environment, { AWS_LAMBDA_FUNCTION_NAME: fn.name });
  saved.set('AWS_LAMBDA_FUNCTION_NAME', undefined);
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  // Powertools writes through a Console on process.stdout, which looks up `write` on every line.
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return process.env.INTEG_VERBOSE === '1' ? write(chunk, ...(rest as [])) : true;
  });
  try {
    const result = await handler(event, lambdaContext(fn));
    return { result, logs: parseLines(lines) };
  } catch (error) {
    throw new Error(`${fn.name} threw: ${String(error)}\nits log:\n${lines.join('')}`, { cause: error });
  } finally {
    spy.mockRestore();
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

function lambdaContext(fn: DeployedFunction): Context {
  const deadline = Date.now() + fn.timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${fn.name}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: 'integ',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function parseLines(chunks: readonly string[]): LogLine[] {
  return chunks.join('').split('\n').filter((line) => line.trim() !== '').map((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return typeof parsed === 'object' && parsed !== null ? parsed as LogLine : { message: line };
    } catch {
      return { message: line };
    }
  });
}

/** Log lines of a level (`ERROR`, `WARN`...), for failure messages and assertions. */
export function linesAt(logs: readonly LogLine[], level: string): LogLine[] {
  return logs.filter((line) => line.level === level);
}
