import { scrub } from '../../lambda/registration/failures';
import { RESOURCE_LABEL_PREFIX, resourceLabel, withResourceLabel } from '../../lambda/registration/resource-label';

const STACK = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/6a8b5f10-0000-11ef-8000-0a1b2c3d4e5f';

describe('resource label', () => {
  test('short, fixed-length, hex only, stable for the same stack and logical id', () => {
    const label = resourceLabel(STACK, 'Pool');
    expect(label).toMatch(/^cdk-ec2-workerpool:resource=[0-9a-f]{32}$/);
    expect(resourceLabel(STACK, 'Pool')).toBe(label);
  });

  test('the same for the stack created again under its name (a new unique suffix), so the retained pool is adopted', () => {
    expect(resourceLabel(STACK.replace('6a8b', '7a8b'), 'Pool')).toBe(resourceLabel(STACK, 'Pool'));
  });

  test('differs by partition, region, account, stack name and logical id', () => {
    const label = resourceLabel(STACK, 'Pool');
    const others = [
      STACK.replace('arn:aws:', 'arn:aws-cn:'),
      STACK.replace('eu-west-1', 'eu-west-2'),
      STACK.replace('123456789012', '210987654321'),
      STACK.replace('stack/s/', 'stack/s2/'),
    ];
    for (const other of others) expect(resourceLabel(other, 'Pool')).not.toBe(label);
    expect(resourceLabel(STACK, 'Pool2')).not.toBe(label);
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    expect(resourceLabel('ab', 'c')).not.toBe(resourceLabel('a', 'bc'));
  });

  test('ours is appended once; user labels that imitate it are dropped; duplicates collapse', () => {
    const own = resourceLabel(STACK, 'Pool');
    expect(withResourceLabel(['a', `${RESOURCE_LABEL_PREFIX}x`, 'a', own], own)).toEqual(['a', own]);
  });
});

describe('scrub', () => {
  test('cuts PEM blocks and long base64 runs, keeps ARNs and ids', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:MyStackWorkerPoolCredentialsSecret4A5B6C7D-AbCdEf';
    const blob = 'A'.repeat(120);
    expect(scrub(`x -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- y ${arn} ${blob}== 01HXYZABCDEFGHJKMNPQRSTVWX`))
      .toBe(`x [redacted] y ${arn} [redacted] 01HXYZABCDEFGHJKMNPQRSTVWX`);
    expect(scrub('cut -----BEGIN CERTIFICATE REQUEST-----\nMIIB')).toBe('cut [redacted]');
  });
});
