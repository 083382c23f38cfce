import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { loadDrainConfig } from '../../lambda/drain/config';
import { createRequeue, createSqsClient } from '../../lambda/drain/requeue';
import { DEFAULT_SCHEDULE } from '../../lambda/drain/schedule';
import { ConfigError } from '../../lambda/shared/env';
import { QUEUE_URL, recheck } from './builders';

const ENV = {
  SPACELIFT_API_ENDPOINT: 'https://acme.app.spacelift.io',
  SPACELIFT_API_KEY_ID: '01HXAMPLEKEY',
  SPACELIFT_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift-key-AbCdEf',
  SPACELIFT_WORKER_POOL_ID: '01HXAMPLEPOOL',
  QUEUE_URL,
  ASG_NAME: 'spacelift-workers',
};

describe('drain configuration', () => {
  test('reads the environment, with the default schedule', () => {
    expect(loadDrainConfig(ENV)).toEqual({
      spacelift: {
        endpoint: ENV.SPACELIFT_API_ENDPOINT,
        apiKeyId: ENV.SPACELIFT_API_KEY_ID,
        apiKeySecretRef: ENV.SPACELIFT_API_KEY_SECRET_ARN,
        workerPoolId: ENV.SPACELIFT_WORKER_POOL_ID,
      },
      queueUrl: ENV.QUEUE_URL,
      asgName: ENV.ASG_NAME,
      schedule: DEFAULT_SCHEDULE,
    });
  });

  test('reads the schedule settings', () => {
    const config = loadDrainConfig({
      ...ENV,
      HEARTBEAT_TIMEOUT_SECONDS: '900',
      RECHECK_INTERVAL_SECONDS: '120',
      DRAIN_TIMEOUT_SECONDS: '7200',
    });
    expect(config.schedule).toEqual({ heartbeatTimeout: 900, recheckInterval: 120, drainTimeout: 7200 });
  });

  test.each(Object.keys(ENV))('a missing %s is named', (name) => {
    expect(() => loadDrainConfig({ ...ENV, [name]: undefined })).toThrow(
      new ConfigError(`environment variable ${name} is required but not set`),
    );
  });

  test.each([
    ['HEARTBEAT_TIMEOUT_SECONDS', '5m'],
    ['RECHECK_INTERVAL_SECONDS', '1.5'],
    ['DRAIN_TIMEOUT_SECONDS', 'forever'],
  ])('a non-integer %s is named', (name, value) => {
    expect(() => loadDrainConfig({ ...ENV, [name]: value })).toThrow(`environment variable ${name} must be an integer`);
  });

  test.each([
    [{ HEARTBEAT_TIMEOUT_SECONDS: '10' }, 'HEARTBEAT_TIMEOUT_SECONDS'],
    [{ RECHECK_INTERVAL_SECONDS: '901' }, 'RECHECK_INTERVAL_SECONDS'],
    [{ HEARTBEAT_TIMEOUT_SECONDS: '300', RECHECK_INTERVAL_SECONDS: '200' }, 'RECHECK_INTERVAL_SECONDS'],
    [{ HEARTBEAT_TIMEOUT_SECONDS: '60', DRAIN_TIMEOUT_SECONDS: '6001' }, 'DRAIN_TIMEOUT_SECONDS'],
  ])('an unsafe schedule %o is rejected, naming %s', (change, name) => {
    expect(() => loadDrainConfig({ ...ENV, ...change })).toThrow(ConfigError);
    expect(() => loadDrainConfig({ ...ENV, ...change })).toThrow(`environment variable ${name}:`);
  });
});

describe('Lambda entry point', () => {
  test('a configuration error fails the invocation with the variable named', async () => {
    const saved = { ...process.env };
    // Quiets the Powertools logger, which is created when the module loads.
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    delete process.env.SPACELIFT_API_ENDPOINT;
    try {
      // Required here, not imported at the top, so the logger sees the level set above.
      const { handler } = require('../../lambda/drain/index') as typeof import('../../lambda/drain/index');
      await expect(handler({ Records: [] }, {} as Context)).rejects.toThrow(
        'environment variable SPACELIFT_API_ENDPOINT is required but not set',
      );
    } finally {
      process.env = saved;
    }
  });
});

describe('SQS client', () => {
  test('without a custom endpoint the SDK keeps its default queue-URL routing', () => {
    expect(createSqsClient({}).config.useQueueUrlAsEndpoint).toBe(true);
  });

  describe('with AWS_ENDPOINT_URL (e.g. moto)', () => {
    let server: Server;
    const requests: { target: string | undefined; body: Record<string, unknown> }[] = [];
    const saved = { ...process.env };

    beforeAll(async () => {
      const answer = async (req: IncomingMessage, res: ServerResponse) => {
        let raw = '';
        for await (const chunk of req) raw += chunk;
        const body = JSON.parse(raw) as { MessageBody: string };
        requests.push({ target: req.headers['x-amz-target'] as string | undefined, body });
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        res.end(
          JSON.stringify({
            MessageId: 'moto-1',
            MD5OfMessageBody: createHash('md5').update(body.MessageBody).digest('hex'),
          }),
        );
      };
      // A failure inside the handler answers 500, so the SDK call under test fails instead of hanging.
      server = createServer((req, res) => {
        answer(req, res).catch((error: unknown) => {
          res.statusCode = 500;
          res.end(String(error));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      Object.assign(process.env, {
        AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      });
      delete process.env.AWS_SESSION_TOKEN;
      delete process.env.AWS_PROFILE;
    });

    afterAll(async () => {
      process.env = saved;
      await new Promise((resolve) => server.close(resolve));
    });

    test('a queue URL on another host still goes to the configured endpoint', async () => {
      const requeue = createRequeue(createSqsClient(process.env), QUEUE_URL);

      await requeue(recheck({ attempt: 3 }), 60);

      expect(requests).toHaveLength(1);
      expect(requests[0].target).toBe('AmazonSQS.SendMessage');
      expect(requests[0].body).toMatchObject({
        QueueUrl: QUEUE_URL,
        DelaySeconds: 60,
      });
      expect(JSON.parse(requests[0].body.MessageBody as string)).toEqual(recheck({ attempt: 3 }));
    });
  });
});
