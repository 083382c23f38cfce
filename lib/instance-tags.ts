import { Token } from 'aws-cdk-lib';

/**
 * The tag keys an instance may carry while its tags are in the instance metadata, which the pool turns on (the
 * bootstrap reads the group's name there): letters, digits and `+ - = . , _ : @`, and not only `.`, `..` or
 * `_index`. A launch of an instance with any other tag key fails.
 * @see https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html
 */
const ALLOWED_KEY = /^[A-Za-z0-9+\-=.,_:@]+$/;
const RESERVED_KEYS: readonly string[] = ['.', '..', '_index'];

/**
 * Why instances cannot carry `key` with their tags in the instance metadata, or undefined when they can (or when
 * the key is a token, known only at deploy time).
 */
export function instanceTagKeyProblem(key: string): string | undefined {
  if (Token.isUnresolved(key)) return undefined;
  if (!ALLOWED_KEY.test(key)) {
    return `tag key "${key}" cannot be on the workers: with instance metadata tags on, which the bootstrap needs, EC2 refuses to `
      + 'launch instances whose tag keys have characters other than letters, digits and + - = . , _ : @ (no spaces, no "/")';
  }
  if (RESERVED_KEYS.includes(key)) return `tag key "${key}" cannot be on the workers: EC2 refuses it with instance metadata tags on`;
  return undefined;
}
