import { ConfigError, integer, requireString } from '../shared/env';
import { MAX_POKE_DEFER_SECONDS } from '../shared/poke';

export interface WebhookConfig {
  /** Secrets Manager secret whose SecretString is the webhook's signing secret, as plain text. */
  readonly secretArn: string;
  /** The autoscaler function to poke: its ARN (or name), as Lambda's Invoke takes it. */
  readonly autoscalerFunction: string;
  /** The autoscaler function's name: the dimension of the metrics. */
  readonly autoscalerFunctionName: string;
  /** At most one autoscaler tick per this many seconds from one container (handler.ts); at most MAX_POKE_DEFER_SECONDS. */
  readonly minTriggerIntervalSeconds: number;
  /** Larger bodies are refused (413) before they are decoded or verified. */
  readonly maxBodyBytes: number;
  /** How long a delivery counts as fresh: the same body is refused within it, and an older `timestamp` after it. */
  readonly replayWindowSeconds: number;
}

export const DEFAULT_MIN_TRIGGER_INTERVAL_SECONDS = 5;
export const DEFAULT_MAX_BODY_BYTES = 65_536;
export const DEFAULT_REPLAY_WINDOW_SECONDS = 300;

// A function URL takes request bodies up to 6 MB.
// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
const FUNCTION_URL_MAX_BODY_BYTES = 6 * 1024 * 1024;

const SECRET_ARN = /^arn:[a-z0-9-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
// Invoke's FunctionName: a name, a partial ARN or a full ARN, optionally with a version or alias.
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_RequestSyntax
const FUNCTION = /^(arn:[a-z0-9-]+:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?([a-zA-Z0-9_-]{1,64})(:[a-zA-Z0-9$_-]{1,128})?$/;

/** Reads and checks the webhook function's environment; every error names the variable to fix. */
export function loadWebhookConfig(env: Readonly<Record<string, string | undefined>>): WebhookConfig {
  const secretArn = requireString(env, 'WEBHOOK_SECRET_ARN');
  if (!SECRET_ARN.test(secretArn)) {
    throw new ConfigError(`environment variable WEBHOOK_SECRET_ARN must be a Secrets Manager secret ARN, got "${secretArn}"`);
  }
  const autoscalerFunction = requireString(env, 'AUTOSCALER_FUNCTION_NAME');
  const match = FUNCTION.exec(autoscalerFunction);
  if (match === null) {
    throw new ConfigError(`environment variable AUTOSCALER_FUNCTION_NAME must be a Lambda function name or ARN, got "${autoscalerFunction}"`);
  }
  return {
    secretArn,
    autoscalerFunction,
    autoscalerFunctionName: match[2],
    // At most what the autoscaler waits for a trailing poke: a longer interval would end after its tick.
    minTriggerIntervalSeconds: integer(env, 'MIN_TRIGGER_INTERVAL_SECONDS', DEFAULT_MIN_TRIGGER_INTERVAL_SECONDS, { min: 1, max: MAX_POKE_DEFER_SECONDS }),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, { min: 1024, max: FUNCTION_URL_MAX_BODY_BYTES }),
    replayWindowSeconds: integer(env, 'REPLAY_WINDOW_SECONDS', DEFAULT_REPLAY_WINDOW_SECONDS, { min: 30, max: 3600 }),
  };
}
