/**
 * What a simulated hour costs, so that instance time and the autoscaler's own Lambda time add up to one bill.
 *
 * Defaults are us-east-1 list prices (2026), for this library's default instance type and each autoscaler's function:
 * - instance: an on-demand t3.small, $0.0208 an hour (the library's default `instanceType`);
 * - our autoscaler: 256 MB, arm64 (lib/handler-function.ts), $0.0000133334 per GB-second;
 * - Spacelift's autoscaler: the Terraform module sets no `memory_size`, so Lambda's default of 128 MB applies, on
 *   x86_64 (the module's default architecture), $0.0000166667 per GB-second;
 * - both: $0.20 per million requests. The free tier is left out: it is per account, not per pool;
 * - ours also sends CloudWatch custom metrics (EMF): $0.30 per metric a month, prorated by the hour and billed only
 *   for hours in which the metric receives data; Spacelift's sends none, but its module turns X-Ray tracing on
 *   (Active) by default: $5 per million traces recorded, one per invocation.
 * Lambda bills the whole invocation, time spent sleeping between ticks included, rounded up to the millisecond.
 * @see https://aws.amazon.com/ec2/pricing/on-demand/
 * @see https://aws.amazon.com/lambda/pricing/
 */

/** How a policy's function is configured (what its GB-seconds cost). */
export interface LambdaShape {
  readonly memoryMb: number;
  readonly architecture: 'arm64' | 'x86_64';
  /** X-Ray active tracing: one trace recorded per invocation. */
  readonly tracing: boolean;
}

export interface Prices {
  /** Dollars per running instance-hour. */
  readonly instanceHour: number;
  /** Dollars per GB-second, by architecture. */
  readonly lambdaGbSecond: Readonly<Record<LambdaShape['architecture'], number>>;
  /** Dollars per Lambda request. */
  readonly lambdaRequest: number;
  /** Dollars per custom metric per hour with data (the monthly price over 730 hours). */
  readonly metricHour: number;
  /** Dollars per X-Ray trace recorded. */
  readonly xrayTrace: number;
}

export const DEFAULT_PRICES: Prices = Object.freeze({
  instanceHour: 0.0208,
  lambdaGbSecond: Object.freeze({ arm64: 0.0000133334, x86_64: 0.0000166667 }),
  lambdaRequest: 0.2 / 1_000_000,
  metricHour: 0.3 / 730,
  xrayTrace: 5 / 1_000_000,
});

/** This library's autoscaler function (lib/handler-function.ts). */
export const OURS_LAMBDA: LambdaShape = Object.freeze({ memoryMb: 256, architecture: 'arm64', tracing: false });
/** Spacelift's autoscaler as its Terraform module deploys it by default. */
export const SPACELIFT_LAMBDA: LambdaShape = Object.freeze({ memoryMb: 128, architecture: 'x86_64', tracing: true });

export interface LambdaUsage {
  readonly shape: LambdaShape;
  readonly invocations: number;
  /** Billed seconds, summed over invocations. */
  readonly seconds: number;
  /** Custom metrics times the hours in which each received data. */
  readonly metricHours: number;
}

export function gbSeconds(usage: LambdaUsage): number {
  return (usage.seconds * usage.shape.memoryMb) / 1024;
}

/** Dollars for the function's invocations, and what they send to CloudWatch and X-Ray. */
export function lambdaDollars(usage: LambdaUsage, prices: Prices): number {
  return gbSeconds(usage) * prices.lambdaGbSecond[usage.shape.architecture] + usage.invocations * prices.lambdaRequest +
    usage.metricHours * prices.metricHour + (usage.shape.tracing ? usage.invocations * prices.xrayTrace : 0);
}

/** Dollars in instance-hours: the unit every table uses, so that Lambda time reads next to instance time. */
export function inInstanceHours(dollars: number, prices: Prices): number {
  return dollars / prices.instanceHour;
}
