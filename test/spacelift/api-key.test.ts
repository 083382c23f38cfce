import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { apiKeySecretReader } from '../../lambda/aws/api-key';
import { ConfigError } from '../../lambda/shared/env';

const ssm = mockClient(SSMClient);
const secretsManager = mockClient(SecretsManagerClient);

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:spacelift/api-key-AbCdEf';
const PARAMETER_ARN = 'arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/spacelift/api-key';
const VALUE = 'CANARY-api-key-secret-42';

beforeEach(() => {
  ssm.reset();
  secretsManager.reset();
});
afterEach(() => jest.restoreAllMocks());

describe('apiKeySecretReader', () => {
  test('reads a bare SSM parameter name with decryption', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: `${VALUE}\n` } });
    const read = apiKeySecretReader('/spacelift/api-key', { ssm: new SSMClient({ region: 'eu-west-1' }) });
    await expect(read()).resolves.toBe(VALUE);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: '/spacelift/api-key', WithDecryption: true });
    expect(secretsManager).not.toHaveReceivedAnyCommand();
  });

  test('passes an SSM parameter ARN as is, in any partition, to a client in its region', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: VALUE } });
    const read = apiKeySecretReader(PARAMETER_ARN);
    await expect(read()).resolves.toBe(VALUE);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: PARAMETER_ARN, WithDecryption: true });
    const client = ssm.call(0).thisValue as SSMClient;
    await expect(client.config.region()).resolves.toBe('us-gov-west-1');
  });

  test('reads SecretString of a Secrets Manager secret ARN as plain text', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: `  ${VALUE}  ` });
    const read = apiKeySecretReader(SECRET_ARN);
    await expect(read()).resolves.toBe(VALUE);
    expect(secretsManager).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ARN });
    expect(ssm).not.toHaveReceivedAnyCommand();
    const client = secretsManager.call(0).thisValue as SecretsManagerClient;
    await expect(client.config.region()).resolves.toBe('eu-west-1');
  });

  test('caches the value for 15 minutes, then reads it again (rotation)', async () => {
    let now = 1_700_000_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    ssm.on(GetParameterCommand).resolvesOnce({ Parameter: { Type: 'SecureString', Value: 'old' } }).resolves({ Parameter: { Type: 'SecureString', Value: 'new' } });
    const read = apiKeySecretReader('/k', { ssm: new SSMClient({}) });

    await expect(read()).resolves.toBe('old');
    now += 14 * 60_000;
    await expect(read()).resolves.toBe('old');
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    now += 60_000;
    await expect(read()).resolves.toBe('new');
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  test('concurrent callers share one request', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: VALUE } });
    const read = apiKeySecretReader('/k', { ssm: new SSMClient({}) });
    await expect(Promise.all([read(), read(), read()])).resolves.toEqual([VALUE, VALUE, VALUE]);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
  });

  test('a failure names the reference and the AWS error, is not cached, and the next call retries', async () => {
    const denied = Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/fn is not authorized to perform: ssm:GetParameter'), {
      name: 'AccessDeniedException',
    });
    ssm.on(GetParameterCommand).rejectsOnce(denied).resolves({ Parameter: { Type: 'SecureString', Value: VALUE } });
    const read = apiKeySecretReader('/spacelift/api-key', { ssm: new SSMClient({}) });

    const error = await read().catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      'Could not read the Spacelift API key secret from SSM parameter /spacelift/api-key: AccessDeniedException: '
      + 'User: arn:aws:sts::123456789012:assumed-role/fn is not authorized to perform: ssm:GetParameter',
    );
    expect((error as Error).cause).toBe(denied);
    await expect(read()).resolves.toBe(VALUE);
  });

  test.each([
    ['an empty parameter', '/k', () => ssm.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: '  ' } }), /SSM parameter \/k is empty/],
    ['a String parameter (stored unencrypted)', '/k', () => ssm.on(GetParameterCommand).resolves({ Parameter: { Type: 'String', Value: VALUE } }),
      /SSM parameter \/k is a String, stored unencrypted: store it as a SecureString parameter/],
    ['a StringList parameter', '/k', () => ssm.on(GetParameterCommand).resolves({ Parameter: { Type: 'StringList', Value: VALUE } }), /is a StringList, stored unencrypted/],
    ['a parameter of no stated type', '/k', () => ssm.on(GetParameterCommand).resolves({ Parameter: { Value: VALUE } }), /is a parameter of unknown type/],
    ['a binary-only secret', SECRET_ARN, () => secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1]) }), /Secrets Manager secret .* is empty or not a string/],
  ])('rejects %s', async (_name, ref, arrange, message) => {
    arrange();
    const read = apiKeySecretReader(ref, { ssm: new SSMClient({}), secretsManager: new SecretsManagerClient({}) });
    await expect(read()).rejects.toThrow(message);
  });

  test.each([
    'spacelift/api-key',
    'arn:aws:s3:::bucket/key',
    'arn:aws:ssm:eu-west-1:123456789012:document/foo',
    '',
  ])('rejects the reference %p up front', (ref) => {
    expect(() => apiKeySecretReader(ref)).toThrow(ConfigError);
    expect(() => apiKeySecretReader(ref)).toThrow(/must be a Secrets Manager secret ARN, an SSM parameter ARN or an SSM parameter name/);
  });
});
