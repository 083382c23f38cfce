import { generateWorkerPoolCredentials, keyFingerprint } from '../../lambda/registration/credentials';
import { scrub } from '../../lambda/registration/failures';
import { keyFingerprintOf, keyLabel, RESERVED_LABEL_PREFIX, resourceLabel, withOwnLabels } from '../../lambda/registration/pool-labels';

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
    expect(withOwnLabels(['a', `${RESERVED_LABEL_PREFIX}resource=x`, `${RESERVED_LABEL_PREFIX}key=y`, 'a', own], own)).toEqual(['a', own]);
  });
});

describe('key label', () => {
  const first = generateWorkerPoolCredentials(1024);
  const second = generateWorkerPoolCredentials(1024);

  test('names the public key: 32 hex characters, the same for the same key, different for another', () => {
    const fingerprint = keyFingerprint(first.privateKeyBase64);
    expect(fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(keyFingerprint(first.privateKeyBase64)).toBe(fingerprint);
    expect(keyFingerprint(second.privateKeyBase64)).not.toBe(fingerprint);
    expect(first.privateKeyBase64).not.toContain(fingerprint);
  });

  test('appended after the resource label, read back from a pool\'s labels, absent when there is none', () => {
    const own = resourceLabel(STACK, 'Pool');
    const fingerprint = keyFingerprint(first.privateKeyBase64);
    const labels = withOwnLabels(['a'], own, fingerprint);
    expect(labels).toEqual(['a', own, keyLabel(fingerprint)]);
    expect(keyLabel(fingerprint)).toBe(`cdk-ec2-workerpool:key=${fingerprint}`);
    expect(keyFingerprintOf(labels)).toBe(fingerprint);
    expect(keyFingerprintOf(withOwnLabels(['a'], own))).toBeUndefined();
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
