import { parseWorkerMetadata } from '../../lambda/core';

describe('parseWorkerMetadata', () => {
  test('reads the ASG name and instance id', () => {
    expect(parseWorkerMetadata('{"asg_id":"pool-asg","instance_id":"i-0123456789abcdef0","ami_id":"ami-1"}')).toEqual({
      valid: true,
      asgName: 'pool-asg',
      instanceId: 'i-0123456789abcdef0',
    });
  });

  test.each([
    [null, 'no metadata'],
    ['', 'no metadata'],
    ['{', 'metadata is not JSON'],
    ['[]', 'metadata is not a JSON object'],
    ['{"instance_id":"i-0123456789abcdef0"}', 'metadata has no asg_id'],
    ['{"asg_id":"None","instance_id":"i-0123456789abcdef0"}', 'metadata has no asg_id'],
    ['{"asg_id":"pool-asg","instance_id":"i-xyz"}', 'metadata has no valid instance_id'],
    ['{"asg_id":"pool-asg","instance_id":""}', 'metadata has no valid instance_id'],
  ])('%j is invalid: %s', (raw, reason) => {
    expect(parseWorkerMetadata(raw)).toEqual({ valid: false, reason });
  });
});
