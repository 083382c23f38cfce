import { loadWebhookConfig } from '../../lambda/webhook/config';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pool-webhook-AbCdEf';

describe('loadWebhookConfig', () => {
  test('defaults', () => {
    expect(loadWebhookConfig({ WEBHOOK_SECRET_ARN: SECRET_ARN, AUTOSCALER_FUNCTION_NAME: 'pool-autoscaler' })).toEqual({
      secretArn: SECRET_ARN,
      autoscalerFunction: 'pool-autoscaler',
      autoscalerFunctionName: 'pool-autoscaler',
      minTriggerIntervalSeconds: 5,
      maxBodyBytes: 65_536,
      replayWindowSeconds: 300,
    });
  });

  test.each([
    ['pool-autoscaler', 'pool-autoscaler'],
    ['arn:aws:lambda:us-east-1:123456789012:function:pool-autoscaler', 'pool-autoscaler'],
    ['arn:aws-cn:lambda:cn-north-1:123456789012:function:pool-autoscaler:live', 'pool-autoscaler'],
    ['123456789012:function:pool-autoscaler', 'pool-autoscaler'],
  ])('the function %s is named %s in the metrics', (value, name) => {
    const config = loadWebhookConfig({ WEBHOOK_SECRET_ARN: SECRET_ARN, AUTOSCALER_FUNCTION_NAME: value });
    expect(config.autoscalerFunction).toBe(value);
    expect(config.autoscalerFunctionName).toBe(name);
  });

  test.each([
    'arn:aws:lambda:us-east-1:123456789012:layer:pool-autoscaler',
    'pool autoscaler',
    'a'.repeat(65),
  ])('%s is not a function', (value) => {
    expect(() => loadWebhookConfig({ WEBHOOK_SECRET_ARN: SECRET_ARN, AUTOSCALER_FUNCTION_NAME: value }))
      .toThrow('environment variable AUTOSCALER_FUNCTION_NAME must be a Lambda function name or ARN');
  });
});
