/**
 * What EC2 says about given instances (launch time, registration tag), for the autoscaler's fleet and the drain
 * function alike.
 */
import { paginateDescribeInstances, type EC2Client } from '@aws-sdk/client-ec2';
import type { InstanceFacts } from '../core/ports';
import { REGISTERED_TAG_KEY } from '../core/registration';

// EC2 accepts at most 200 values per filter. A filter, unlike InstanceIds, omits unknown ids instead of failing
// the whole call with InvalidInstanceID.NotFound (a just-launched instance may not be visible to EC2 yet).
// CreateTags takes the same batches.
export const IDS_PER_CALL = 200;

/** `DescribeInstances` of the given ids; unknown ids are omitted. */
export async function describeInstanceFacts(
  ec2: EC2Client,
  instanceIds: readonly string[],
): Promise<Map<string, InstanceFacts>> {
  const facts = new Map<string, InstanceFacts>();
  for (let start = 0; start < instanceIds.length; start += IDS_PER_CALL) {
    const batch = instanceIds.slice(start, start + IDS_PER_CALL);
    const pages = paginateDescribeInstances(
      { client: ec2 },
      { Filters: [{ Name: 'instance-id', Values: [...batch] }], MaxResults: 1000 },
    );
    for await (const page of pages) {
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (instance.InstanceId !== undefined && instance.LaunchTime !== undefined) {
          facts.set(instance.InstanceId, {
            launchTime: Math.floor(instance.LaunchTime.getTime() / 1000),
            registered: (instance.Tags ?? []).some((tag) => tag.Key === REGISTERED_TAG_KEY),
          });
        }
      }
    }
  }
  return facts;
}
