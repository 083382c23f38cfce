/**
 * The webhook endpoint's behaviour, run against the TypeScript entry point (endpoint.test.ts) and against the
 * esbuild bundle the package ships (bundle.test.ts).
 */
import { WEBHOOK_DIMENSION, WEBHOOK_REASON_DIMENSION, WebhookMetric } from '../../lambda/shared/metrics';
import {
  AUTOSCALER_ARN,
  BODY_MARKER,
  Clock,
  loadEndpoint,
  metricsOf,
  request,
  requestLines,
  runEvent,
  SECRET,
  SECRET_ARN,
  sign,
  signed,
  type Answer,
  type Endpoint,
} from './harness';

const POKE = { FunctionName: AUTOSCALER_ARN, InvocationType: 'Event' };
// `sentAt` is the endpoint's clock when it pokes; the first test pins it.
const POKE_PAYLOAD = { source: 'cdk-ec2-workerpool.webhook', sentAt: expect.any(Number) };

export function endpointSuite(modulePath: string): void {
  let clock: Clock;
  let endpoint: Endpoint;

  beforeEach(() => {
    clock = new Clock();
    endpoint = loadEndpoint(modulePath);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** The payload of every invoke, parsed, after checking each is an asynchronous invoke of the autoscaler. */
  function pokes(): unknown[] {
    return endpoint.invokes().map((input) => {
      expect(input).toMatchObject(POKE);
      return JSON.parse(Buffer.from(input.Payload as Uint8Array).toString('utf8'));
    });
  }

  /** The one request log line, checked to carry nothing of the body, the signature or the secret. */
  function logLine(answer: Answer, signatureHeader?: string): Record<string, unknown> {
    const lines = requestLines(answer);
    expect(lines).toHaveLength(1);
    expect(answer.output).not.toContain(BODY_MARKER);
    expect(answer.output).not.toContain(SECRET);
    if (signatureHeader !== undefined && signatureHeader.length > 0) expect(answer.output).not.toContain(signatureHeader);
    return lines[0];
  }

  function body(answer: Answer): unknown {
    return JSON.parse(answer.reply.body);
  }

  describe('an accepted delivery', () => {
    test('a validly signed delivery pokes the autoscaler once, asynchronously, and is answered 202', async () => {
      const payload = runEvent();
      const answer = await endpoint.call(signed(payload));

      expect(answer.reply.statusCode).toBe(202);
      expect(body(answer)).toEqual({ poked: true });
      expect(pokes()).toEqual([{ ...POKE_PAYLOAD, sentAt: Date.now() / 1000 }]);
      expect(endpoint.secretReads()).toEqual([{ SecretId: SECRET_ARN }]);
      expect(logLine(answer, sign(payload))).toMatchObject({
        level: 'INFO', method: 'POST', status: 202, reason: 'poked', signature: 'valid', bodyBytes: Buffer.byteLength(payload),
      });
      expect(metricsOf(answer).map((m) => m.name)).toEqual([WebhookMetric.Accepted]);
    });

    test('within the minimum interval: one trailing poke that ticks at the interval\'s end, then coalesced, then a poke again', async () => {
      const start = clock.seconds;
      await endpoint.call(signed(runEvent({ state: 'QUEUED' })));
      clock.advance(4);
      const second = await endpoint.call(signed(runEvent({ state: 'READY' }, clock.seconds)));

      expect(second.reply.statusCode).toBe(202);
      expect(body(second)).toEqual({ poked: true, deferred: true });
      expect(pokes()).toEqual([POKE_PAYLOAD, { ...POKE_PAYLOAD, notBefore: start + 5 }]);
      expect(logLine(second)).toMatchObject({ status: 202, reason: 'deferred', signature: 'valid' });
      expect(metricsOf(second).map((m) => m.name)).toEqual([WebhookMetric.Accepted, WebhookMetric.Deferred]);

      // Before the trailing tick: it covers this one.
      clock.advance(0.5);
      const third = await endpoint.call(signed(runEvent({ state: 'CONFIRMED' }, clock.seconds)));
      expect(body(third)).toEqual({ poked: false, reason: 'coalesced' });
      expect(logLine(third)).toMatchObject({ status: 202, reason: 'coalesced', signature: 'valid' });
      expect(metricsOf(third).map((m) => m.name)).toEqual([WebhookMetric.Accepted, WebhookMetric.Coalesced]);
      expect(pokes()).toHaveLength(2);

      // After the trailing tick, within an interval of it: the next trailing poke; an interval after it: a poke at once.
      clock.advance(1);
      expect(body(await endpoint.call(signed(runEvent({ state: 'REPLAN_REQUESTED' }, clock.seconds))))).toEqual({ poked: true, deferred: true });
      expect(pokes().at(-1)).toEqual({ ...POKE_PAYLOAD, notBefore: start + 10 });
      clock.advance(10);
      expect(body(await endpoint.call(signed(runEvent({ state: 'QUEUED' }, clock.seconds))))).toEqual({ poked: true });
      expect(pokes().at(-1)).toEqual(POKE_PAYLOAD);
    });

    test('a delivery at the very moment of the trailing tick may miss its read: it gets the next interval\'s tick', async () => {
      const start = clock.seconds;
      await endpoint.call(signed(runEvent({ state: 'QUEUED' })));
      clock.advance(1);
      await endpoint.call(signed(runEvent({ state: 'READY' }, clock.seconds)));
      clock.advance(4);
      expect(clock.seconds).toBe(start + 5);
      expect(body(await endpoint.call(signed(runEvent({ state: 'CONFIRMED' }, clock.seconds))))).toEqual({ poked: true, deferred: true });
      expect(pokes().at(-1)).toEqual({ ...POKE_PAYLOAD, notBefore: start + 10 });
    });

    test('a flood of deliveries costs at most one tick per interval', async () => {
      const start = clock.seconds;
      for (let i = 0; i < 60; i++) {
        await endpoint.call(signed(runEvent({ state: 'QUEUED', seq: i }, clock.seconds)));
        clock.advance(0.5);
      }
      // 30 s of deliveries every half second: a poke at 0, then trailing ticks at 5, 10, ... 30.
      const ticksAt = pokes().map((poke) => (poke as { notBefore?: number }).notBefore ?? start);
      expect(ticksAt).toEqual([0, 5, 10, 15, 20, 25, 30].map((t) => start + t));
    });

    test.each(['FINISHED', 'FAILED', 'PREPARING', 'PLANNING', 'UNCONFIRMED'])(
      'a run now %s waits for no worker: 202, no poke, and the interval is not started', async (state) => {
        const answer = await endpoint.call(signed(runEvent({ state })));
        expect(answer.reply.statusCode).toBe(202);
        expect(body(answer)).toEqual({ poked: false, reason: 'not-waiting' });
        expect(pokes()).toEqual([]);
        expect(logLine(answer)).toMatchObject({ status: 202, reason: 'not-waiting', signature: 'valid' });
        // The next waiting run pokes at once.
        const next = await endpoint.call(signed(runEvent({ state: 'READY', stateVersion: 2 })));
        expect(body(next)).toEqual({ poked: true });
      });

    test('a payload without a state string pokes: it cannot say the run is not waiting', async () => {
      const answer = await endpoint.call(signed(runEvent({ state: undefined })));
      expect(body(answer)).toEqual({ poked: true });
    });

    test('a base64-encoded body is verified over its decoded bytes', async () => {
      const payload = runEvent();
      const answer = await endpoint.call(request(Buffer.from(payload).toString('base64'), {
        isBase64Encoded: true,
        headers: { 'x-signature-256': sign(payload) },
      }));

      expect(answer.reply.statusCode).toBe(202);
      expect(pokes()).toHaveLength(1);
      expect(logLine(answer)).toMatchObject({ bodyBytes: Buffer.byteLength(payload) });
    });

    test('the size limit applies to the decoded body: a base64 body longer than the limit but decoding within it passes', async () => {
      const payload = runEvent({ padding: 'x'.repeat(60_000) });
      const encoded = Buffer.from(payload).toString('base64');
      expect(encoded.length).toBeGreaterThan(65_536);

      const answer = await endpoint.call(request(encoded, { isBase64Encoded: true, headers: { 'x-signature-256': sign(payload) } }));
      expect(answer.reply.statusCode).toBe(202);
    });

    test('the signing secret is read once and cached', async () => {
      await endpoint.call(signed(runEvent({ state: 'QUEUED' })));
      clock.advance(10);
      await endpoint.call(signed(runEvent({ state: 'READY' }, clock.seconds)));
      expect(endpoint.secretReads()).toHaveLength(1);
    });

    test('a rotated secret is picked up on a mismatch once the cached one is a minute old', async () => {
      await endpoint.call(signed(runEvent({ state: 'QUEUED' })));
      endpoint.secrets.onAnyCommand().resolves({ SecretString: 'whsec-rotated' });

      clock.advance(30);
      const early = await endpoint.call(signed(runEvent({ state: 'READY' }, clock.seconds), 'whsec-rotated'));
      expect(early.reply.statusCode).toBe(401);
      expect(endpoint.secretReads()).toHaveLength(1);

      clock.advance(31);
      const late = await endpoint.call(signed(runEvent({ state: 'READY' }, clock.seconds), 'whsec-rotated'));
      expect(late.reply.statusCode).toBe(202);
      expect(endpoint.secretReads()).toHaveLength(2);
      expect(pokes()).toHaveLength(2);
    });
  });

  describe('a rotation of the signing secret', () => {
    /** Secrets Manager after a rotation to `whsec-new` at `rotatedAt` (epoch seconds); the old value is AWSPREVIOUS. */
    function rotated(rotatedAt: number): void {
      endpoint.secrets.onAnyCommand().callsFake((input: { VersionStage?: string }) => (input.VersionStage === 'AWSPREVIOUS'
        ? { SecretString: SECRET }
        : { SecretString: 'whsec-new', CreatedDate: new Date(rotatedAt * 1000) }));
    }
    const previousReads = () => endpoint.secretReads().filter((read) => read.VersionStage === 'AWSPREVIOUS');

    test('Spacelift may sign with the previous value for an hour: the secret first, then Spacelift, loses no delivery', async () => {
      rotated(clock.seconds);
      const old = await endpoint.call(signed(runEvent({ state: 'QUEUED' }, clock.seconds)));
      expect(old.reply.statusCode).toBe(202);
      const updated = await endpoint.call(signed(runEvent({ state: 'READY' }, clock.seconds), 'whsec-new'));
      expect(updated.reply.statusCode).toBe(202);
      expect(previousReads()).toHaveLength(1);
    });

    test('an hour after the rotation the previous value no longer verifies', async () => {
      rotated(clock.seconds - 3_600);
      const old = await endpoint.call(signed(runEvent({ state: 'QUEUED' }, clock.seconds)));
      expect(old.reply.statusCode).toBe(401);
      expect(previousReads()).toHaveLength(0);
    });

    test('a flood of bad signatures reads the previous value once per cached secret', async () => {
      rotated(clock.seconds);
      for (let i = 0; i < 20; i++) {
        const answer = await endpoint.call(signed(runEvent({ state: 'QUEUED', n: i }, clock.seconds), 'whsec-wrong'));
        expect(answer.reply.statusCode).toBe(401);
      }
      expect(previousReads()).toHaveLength(1);
    });
  });

  describe('bad input: 4xx, nothing invoked, logged without the body or the signature', () => {
    const badSignatures: [string, string | undefined, string][] = [
      ['missing', undefined, 'signature-missing'],
      ['empty', '', 'signature-malformed'],
      ['without the sha256= prefix', 'a'.repeat(64), 'signature-malformed'],
      ['a SHA-1 signature', `sha1=${'a'.repeat(40)}`, 'signature-malformed'],
      ['63 hex digits', `sha256=${'a'.repeat(63)}`, 'signature-malformed'],
      ['65 hex digits', `sha256=${'a'.repeat(65)}`, 'signature-malformed'],
      ['not hex', `sha256=${'g'.repeat(64)}`, 'signature-malformed'],
      ['two headers, comma-joined', `${sign(runEvent())},${sign(runEvent())}`, 'signature-malformed'],
      ['the signature of another body', sign(runEvent({ state: 'FAILED' })), 'signature-mismatch'],
      ['signed with another secret', sign(runEvent(), 'whsec-other'), 'signature-mismatch'],
    ];

    test.each(badSignatures)('signature %s: 401', async (_name, header, reason) => {
      const headers: Record<string, string> = header === undefined ? {} : { 'x-signature-256': header };
      const answer = await endpoint.call(request(runEvent(), { headers }));

      expect(answer.reply.statusCode).toBe(401);
      expect(body(answer)).toEqual({ error: reason });
      expect(endpoint.invokes()).toEqual([]);
      expect(logLine(answer, header)).toMatchObject({
        level: 'WARN',
        status: 401,
        reason,
        signature: reason === 'signature-missing' ? 'missing' : reason === 'signature-mismatch' ? 'invalid' : 'malformed',
      });
    });

    test('a wrong signature is compared in constant time, on two 32-byte digests', async () => {
      // The module object itself (a namespace import would be a copy): the handler looks the function up on it per call.
      const compare = jest.spyOn(require('node:crypto') as typeof import('node:crypto'), 'timingSafeEqual');
      const claimed = sign(runEvent({ state: 'FAILED' }));
      await endpoint.call(request(runEvent(), { headers: { 'x-signature-256': claimed } }));

      expect(compare).toHaveBeenCalledTimes(1);
      const [a, b] = compare.mock.calls[0] as [Buffer, Buffer];
      expect([a.length, b.length]).toEqual([32, 32]);
      expect(Buffer.from(b).toString('hex')).toBe(claimed.slice('sha256='.length));
    });

    test.each(['GET', 'PUT', 'DELETE'])('%s: 405 with Allow: POST, even when signed', async (method) => {
      const payload = runEvent();
      const answer = await endpoint.call(signed(payload, SECRET, { method }));

      expect(answer.reply.statusCode).toBe(405);
      expect(answer.reply.headers).toMatchObject({ allow: 'POST' });
      expect(endpoint.invokes()).toEqual([]);
      expect(endpoint.secretReads()).toEqual([]);
      expect(logLine(answer, sign(payload))).toMatchObject({ method, status: 405, reason: 'method-not-allowed', signature: 'unchecked' });
    });

    test('a Content-Length over the limit: 413 before the secret is read', async () => {
      const payload = runEvent();
      const answer = await endpoint.call(signed(payload, SECRET, { headers: { 'content-length': '65537' } }));

      expect(answer.reply.statusCode).toBe(413);
      expect(endpoint.secretReads()).toEqual([]);
      expect(endpoint.invokes()).toEqual([]);
      expect(logLine(answer, sign(payload))).toMatchObject({ status: 413, reason: 'body-too-large', signature: 'unchecked' });
    });

    test.each([
      ['plain', false, 65_537],
      ['base64-encoded', true, 65_537],
    ])('a %s body over the limit, without Content-Length: 413 before the secret is read', async (_name, base64, size) => {
      const payload = runEvent({ padding: 'x'.repeat(size - runEvent({ padding: '' }).length) });
      expect(Buffer.byteLength(payload)).toBe(size);
      const event = base64
        ? request(Buffer.from(payload).toString('base64'), { isBase64Encoded: true, headers: { 'x-signature-256': sign(payload) } })
        : signed(payload);

      const answer = await endpoint.call(event);
      expect(answer.reply.statusCode).toBe(413);
      expect(endpoint.secretReads()).toEqual([]);
      expect(endpoint.invokes()).toEqual([]);
      expect(logLine(answer, sign(payload))).toMatchObject({ reason: 'body-too-large', bodyBytes: size });
    });

    test.each([
      ['not JSON', `{"note":"${BODY_MARKER}"`],
      ['a JSON array', `["${BODY_MARKER}"]`],
      ['a JSON string', `"${BODY_MARKER}"`],
      ['empty', ''],
    ])('a signed body that is %s: 400', async (_name, payload) => {
      const answer = await endpoint.call(signed(payload));

      expect(answer.reply.statusCode).toBe(400);
      expect(body(answer)).toEqual({ error: 'body-not-json' });
      expect(endpoint.invokes()).toEqual([]);
      expect(logLine(answer, sign(payload))).toMatchObject({ status: 400, reason: 'body-not-json', signature: 'valid' });
    });

    test('the same delivery again within the window: 409, one invoke only', async () => {
      const payload = runEvent();
      await endpoint.call(signed(payload));
      clock.advance(30);
      const replay = await endpoint.call(signed(payload));

      expect(replay.reply.statusCode).toBe(409);
      expect(body(replay)).toEqual({ error: 'replay-duplicate' });
      expect(pokes()).toHaveLength(1);
      expect(logLine(replay, sign(payload))).toMatchObject({ status: 409, reason: 'replay-duplicate', signature: 'valid' });
    });

    test('deferred and coalesced deliveries are remembered too: sent again, 409', async () => {
      await endpoint.call(signed(runEvent({ state: 'QUEUED' })));
      const deferred = runEvent({ state: 'READY' });
      const coalesced = runEvent({ state: 'CONFIRMED' });
      expect(body(await endpoint.call(signed(deferred)))).toEqual({ poked: true, deferred: true });
      expect(body(await endpoint.call(signed(coalesced)))).toEqual({ poked: false, reason: 'coalesced' });
      clock.advance(10);
      expect((await endpoint.call(signed(deferred))).reply.statusCode).toBe(409);
      expect((await endpoint.call(signed(coalesced))).reply.statusCode).toBe(409);
      expect(pokes()).toHaveLength(2);
    });

    test('the same delivery after the window: its timestamp is stale, 409', async () => {
      const payload = runEvent();
      await endpoint.call(signed(payload));
      clock.advance(301);
      const replay = await endpoint.call(signed(payload));

      expect(replay.reply.statusCode).toBe(409);
      expect(body(replay)).toEqual({ error: 'replay-stale' });
      expect(pokes()).toHaveLength(1);
    });

    test.each([
      ['older than the window', -301, 409, 'replay-stale'],
      ['more than a minute ahead', 61, 400, 'timestamp-in-future'],
      ['in nanoseconds (a policy passing updated_at)', 'ns', 400, 'timestamp-in-future'],
      ['a string', 'string', 400, 'timestamp-invalid'],
      ['null', 'null', 400, 'timestamp-invalid'],
    ] as const)('a timestamp %s is refused', async (_name, offset, status, reason) => {
      const timestamp = offset === 'ns' ? clock.seconds * 1e9
        : offset === 'string' ? String(clock.seconds)
        : offset === 'null' ? null
        : clock.seconds + offset;
      const payload = runEvent({ timestamp });
      const answer = await endpoint.call(signed(payload));

      expect(answer.reply.statusCode).toBe(status);
      expect(body(answer)).toEqual({ error: reason });
      expect(endpoint.invokes()).toEqual([]);
      expect(logLine(answer, sign(payload))).toMatchObject({ status, reason, signature: 'valid' });
    });

    test('timestamps within the window, or up to a minute ahead, pass', async () => {
      expect((await endpoint.call(signed(runEvent({ timestamp: clock.seconds - 300 })))).reply.statusCode).toBe(202);
      expect((await endpoint.call(signed(runEvent({ timestamp: clock.seconds + 60 })))).reply.statusCode).toBe(202);
    });

    test('a body without a timestamp is checked for duplicates only', async () => {
      const payload = JSON.stringify({ run: { id: '01RUN', note: BODY_MARKER } });
      expect((await endpoint.call(signed(payload))).reply.statusCode).toBe(202);
      clock.advance(10);
      expect((await endpoint.call(signed(payload))).reply.statusCode).toBe(409);
    });

    test('every rejection is counted, in total and by reason, under the autoscaler\'s dimension', async () => {
      const answer = await endpoint.call(request(runEvent()));
      // The per-reason copy is published at once, the total with the rest at the end.
      const rejected = metricsOf(answer).filter((m) => m.name === WebhookMetric.Rejected)
        .sort((a, b) => a.dimensions.length - b.dimensions.length);

      expect(rejected.map((m) => m.dimensions.sort())).toEqual([
        ['service', WEBHOOK_DIMENSION].sort(),
        ['service', WEBHOOK_DIMENSION, WEBHOOK_REASON_DIMENSION].sort(),
      ]);
      for (const metric of rejected) expect(metric.values[WEBHOOK_DIMENSION]).toBe('pool-autoscaler');
      expect(rejected[1].values[WEBHOOK_REASON_DIMENSION]).toBe('signature-missing');
    });
  });

  describe('failures', () => {
    test('the secret cannot be read: 500, nothing invoked, logged; the next request reads it again', async () => {
      endpoint.secrets.onAnyCommand().rejects(Object.assign(new Error('User is not authorized to perform: secretsmanager:GetSecretValue'), {
        name: 'AccessDeniedException',
      }));
      const payload = runEvent();
      const answer = await endpoint.call(signed(payload));

      expect(answer.reply.statusCode).toBe(500);
      expect(body(answer)).toEqual({ error: 'internal' });
      expect(endpoint.invokes()).toEqual([]);
      const line = logLine(answer, sign(payload));
      expect(line).toMatchObject({ level: 'ERROR', status: 500, reason: 'secret-unavailable' });
      expect(JSON.stringify(line.error)).toContain('AccessDeniedException');
      expect(metricsOf(answer).map((m) => m.name)).toEqual([WebhookMetric.SecretUnavailable]);

      endpoint.secrets.onAnyCommand().resolves({ SecretString: SECRET });
      expect((await endpoint.call(signed(payload))).reply.statusCode).toBe(202);
      expect(endpoint.secretReads()).toHaveLength(2);
    });

    test('an empty secret fails closed: 500', async () => {
      endpoint.secrets.onAnyCommand().resolves({ SecretString: '  ' });
      const answer = await endpoint.call(signed(runEvent(), ''));
      expect(answer.reply.statusCode).toBe(500);
      expect(endpoint.invokes()).toEqual([]);
    });

    test('the invoke fails: 502 and logged; Spacelift\'s retry of the same delivery pokes', async () => {
      endpoint.lambda.onAnyCommand().rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
      const payload = runEvent();
      const failed = await endpoint.call(signed(payload));

      expect(failed.reply.statusCode).toBe(502);
      expect(body(failed)).toEqual({ error: 'poke-failed' });
      const line = logLine(failed, sign(payload));
      expect(line).toMatchObject({ level: 'ERROR', status: 502, reason: 'poke-failed', signature: 'valid' });
      expect(JSON.stringify(line.error)).toContain('TooManyRequestsException');
      expect(metricsOf(failed).map((m) => m.name)).toEqual([WebhookMetric.PokeFailed]);

      endpoint.lambda.onAnyCommand().resolves({ StatusCode: 202 });
      clock.advance(1);
      const retried = await endpoint.call(signed(payload));
      expect(retried.reply.statusCode).toBe(202);
      expect(body(retried)).toEqual({ poked: true });
      expect(pokes()).toHaveLength(2);
    });

    test('a trailing poke that fails: 502, and Spacelift\'s retry sends it again rather than being coalesced', async () => {
      const start = clock.seconds;
      await endpoint.call(signed(runEvent({ state: 'QUEUED' })));
      endpoint.lambda.onAnyCommand().rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
      clock.advance(1);
      const payload = runEvent({ state: 'READY' }, clock.seconds);
      expect((await endpoint.call(signed(payload))).reply.statusCode).toBe(502);

      endpoint.lambda.onAnyCommand().resolves({ StatusCode: 202 });
      clock.advance(1);
      expect(body(await endpoint.call(signed(payload)))).toEqual({ poked: true, deferred: true });
      expect(pokes().at(-1)).toEqual({ ...POKE_PAYLOAD, notBefore: start + 5 });
    });

    test('an invoke Lambda does not accept with 202 is a failure', async () => {
      endpoint.lambda.onAnyCommand().resolves({ StatusCode: 200 });
      expect((await endpoint.call(signed(runEvent()))).reply.statusCode).toBe(502);
    });
  });

  describe('configuration', () => {
    test.each([
      [{ WEBHOOK_SECRET_ARN: undefined }, 'environment variable WEBHOOK_SECRET_ARN is required but not set'],
      [{ WEBHOOK_SECRET_ARN: 'pool-webhook' }, 'environment variable WEBHOOK_SECRET_ARN must be a Secrets Manager secret ARN'],
      [{ AUTOSCALER_FUNCTION_NAME: undefined }, 'environment variable AUTOSCALER_FUNCTION_NAME is required but not set'],
      [{ AUTOSCALER_FUNCTION_NAME: 'arn:aws:s3:::bucket' }, 'environment variable AUTOSCALER_FUNCTION_NAME must be a Lambda function name or ARN'],
      [{ MIN_TRIGGER_INTERVAL_SECONDS: '0' }, 'environment variable MIN_TRIGGER_INTERVAL_SECONDS must be >= 1, got 0'],
      [{ MIN_TRIGGER_INTERVAL_SECONDS: '31' }, 'environment variable MIN_TRIGGER_INTERVAL_SECONDS must be <= 30, got 31'],
      [{ MAX_BODY_BYTES: '7000000' }, 'environment variable MAX_BODY_BYTES must be <= 6291456, got 7000000'],
      [{ REPLAY_WINDOW_SECONDS: 'five' }, 'environment variable REPLAY_WINDOW_SECONDS must be an integer, got "five"'],
    ])('%o fails every request, naming the variable', async (env, message) => {
      const misconfigured = loadEndpoint(modulePath, env);
      const { error, output } = await misconfigured.fail(signed(runEvent()));

      expect((error as Error).name).toBe('ConfigError');
      expect((error as Error).message).toContain(message);
      expect(output).toContain('webhook configuration is invalid');
      expect(misconfigured.invokes()).toEqual([]);
    });

    test('the limits come from the environment', async () => {
      endpoint = loadEndpoint(modulePath, { MIN_TRIGGER_INTERVAL_SECONDS: '30', MAX_BODY_BYTES: '2048', REPLAY_WINDOW_SECONDS: '60' });
      expect((await endpoint.call(signed(runEvent({ padding: 'x'.repeat(2048) })))).reply.statusCode).toBe(413);
      expect((await endpoint.call(signed(runEvent({ timestamp: clock.seconds - 61 })))).reply.statusCode).toBe(409);
      expect((await endpoint.call(signed(runEvent({ state: 'QUEUED' })))).reply.statusCode).toBe(202);
      const start = clock.seconds;
      clock.advance(29);
      expect(JSON.parse((await endpoint.call(signed(runEvent({ state: 'READY' }, clock.seconds)))).reply.body)).toEqual({ poked: true, deferred: true });
      expect(pokes().at(-1)).toEqual({ ...POKE_PAYLOAD, notBefore: start + 30 });
    });
  });
}
