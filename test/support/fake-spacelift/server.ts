/**
 * An in-process fake of the Spacelift GraphQL API on 127.0.0.1 (random port).
 *
 * Requests go through graphql-js parse → validate → execute against ./schema, with bearer-JWT auth,
 * per-worker state and queued fault injection. Tests drive the state through the methods of
 * FakeSpacelift directly; only the Lambda code under test talks HTTP.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  execute,
  getOperationAST,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
} from 'graphql';
import { currentSchema, legacySchema } from './schema';

export interface FakeWorker {
  readonly id: string;
  busy: boolean;
  drained: boolean;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds; null until the worker has been idle once. Not served by the legacy schema. */
  availableAt: number | null;
  /** The raw JSON string, exactly as served. */
  metadata: string;
}

/** A worker pool as the fake stores it; the constructor's pool (`workerPoolId`) is one too. */
export interface FakePool {
  readonly id: string;
  name: string;
  description: string | null;
  labels: string[];
  space: string;
  /** The token served as `config`: base64 of JSON that carries `configMarker`, new on every create and reset. */
  config: string;
  /** base64 of the PEM CSR of the last create or reset; empty for a pool added with addPool. */
  certificateSigningRequest: string;
}

export interface AddPoolInput {
  readonly id?: string;
  readonly name?: string;
  readonly description?: string | null;
  readonly labels?: readonly string[];
  readonly space?: string;
}

export interface AddWorkerInput {
  readonly id?: string;
  /** The pool the worker belongs to. Default: `workerPoolId`. */
  readonly workerPool?: string;
  /** Goes into the metadata as `instance_id`. Default: a generated `i-…`. */
  readonly instanceId?: string;
  /** Goes into the metadata as `asg_id`. Default: the server's `asgName`. */
  readonly asgName?: string;
  /** Raw metadata string; replaces the one built from instanceId and asgName (e.g. invalid JSON). */
  readonly metadata?: string;
  readonly busy?: boolean;
  readonly drained?: boolean;
  /** Unix seconds. Default: now. */
  readonly createdAt?: number;
  /** Unix seconds. Default: createdAt for an idle worker, null for a busy one. */
  readonly availableAt?: number | null;
}

export type Fault =
  /** Plain HTTP error, e.g. 502, 503 or 429; `retryAfter` in seconds sets the Retry-After header. */
  | { readonly kind: 'http'; readonly status: number; readonly retryAfter?: number }
  /** Hold the response for `ms`, then answer normally (side effects still happen). */
  | { readonly kind: 'delay'; readonly ms: number }
  /** HTTP 200 with a truncated JSON body. */
  | { readonly kind: 'malformed' }
  /** A GraphQL error response (`data: null`), HTTP 200 unless `status` says otherwise. */
  | { readonly kind: 'graphqlError'; readonly message: string; readonly status?: number }
  /** HTTP 200 with both `errors` and `data` that looks whole: an empty pool (a partial answer, as GraphQL allows). */
  | { readonly kind: 'partialData'; readonly message: string }
  /** Treat the presented JWT as expired: revoke it and answer 401 or a GraphQL "unauthorized". */
  | { readonly kind: 'unauthorized'; readonly via: 'http' | 'graphql' | 'anonymous' };

export interface FaultOptions {
  /** How many matching requests the fault applies to. Default 1. */
  readonly times?: number;
  /** Only requests whose operation name or a root field equals this. Default: any request. */
  readonly match?: string;
}

export interface ReceivedOperation {
  readonly operationName: string | null;
  /** Root fields of the executed operation, e.g. `['workerPool']`. */
  readonly fields: readonly string[];
  /** Variables as sent, with `secret` replaced by `[redacted]`. */
  readonly variables: Readonly<Record<string, unknown>>;
  readonly query: string;
  readonly authorization: string | undefined;
  /** The fault that answered this request, if any. */
  readonly fault?: Fault['kind'];
}

export interface DrainEvent {
  readonly workerId: string;
  readonly drain: boolean;
  /** The worker after the change. */
  readonly worker: Readonly<FakeWorker>;
}

/** Runs after a workerDrainSet changed state and before the reply (which shows the state before the hook). */
export type DrainHook = (event: DrainEvent) => void | Promise<void>;

export interface FakeSpaceliftOptions {
  readonly apiKeyId?: string;
  readonly apiKeySecret?: string;
  readonly workerPoolId?: string;
  readonly workerPoolName?: string;
  /** Default `asg_id` for added workers. */
  readonly asgName?: string;
  /** Serve the schema without `Worker.availableAt`. */
  readonly legacySchema?: boolean;
  /** Lifetime of issued JWTs. Default 3600. */
  readonly jwtTtlSeconds?: number;
  /** Epoch ms; drives JWT expiry, createdAt and availableAt. Default Date.now. */
  readonly clock?: () => number;
  /**
   * How a missing, expired or unknown JWT is answered. Spacelift itself answers HTTP 200 + "unauthorized";
   * `anonymous` answers as to an anonymous caller, as Spacelift has done for expired tokens (spacectl #79):
   * queries run and see nothing (`workerPool: null`), mutations are refused.
   */
  readonly authFailure?: 'graphql' | 'http' | 'anonymous';
  readonly onDrain?: DrainHook;
}

interface QueuedFault {
  readonly fault: Fault;
  readonly match?: string;
  remaining: number;
}

interface RequestBody {
  readonly query: string;
  readonly operationName: string | null;
  readonly variables: Record<string, unknown>;
}

export class FakeSpacelift {
  /** Pass this as the client's endpoint. Its unique path keeps module-level JWT caches apart between servers. */
  readonly endpoint: string;
  readonly apiKeyId: string;
  readonly apiKeySecret: string;
  readonly workerPoolId: string;
  /** Every `config` this fake serves contains this marker (base64-encoded), for "never logged" assertions. */
  readonly configMarker: string;

  private readonly server: Server;
  private readonly graphqlPath: string;
  private readonly options: FakeSpaceliftOptions;
  private readonly clock: () => number;
  private readonly workerMap = new Map<string, FakeWorker>();
  private readonly poolMap = new Map<string, FakePool>();
  /** Worker id → pool id; kept apart from FakeWorker so its served shape does not change. */
  private readonly workerPoolOf = new Map<string, string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly tokens = new Map<string, number>();
  private readonly received: ReceivedOperation[] = [];
  private readonly faults: QueuedFault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private drainHook: DrainHook | undefined;
  private pendingRuns = 0;
  private schedulableRuns = 0;
  private workerSeq = 0;
  private configSeq = 0;

  private constructor(server: Server, port: number, options: FakeSpaceliftOptions) {
    const tag = randomBytes(4).toString('hex');
    this.server = server;
    this.options = options;
    this.endpoint = `http://127.0.0.1:${port}/${tag}`;
    this.graphqlPath = `/${tag}/graphql`;
    this.apiKeyId = options.apiKeyId ?? '01FAKEAPIKEY0000000000000A';
    this.apiKeySecret = options.apiKeySecret ?? 'fake-api-key-secret';
    this.workerPoolId = options.workerPoolId ?? '01FAKEWORKERPOOL0000000000';
    this.clock = options.clock ?? Date.now;
    this.drainHook = options.onDrain;
    this.configMarker = `FAKE-POOL-CONFIG-${randomBytes(6).toString('hex')}`;
    this.addPool({ id: this.workerPoolId, name: options.workerPoolName ?? 'fake-pool' });
  }

  static async start(options: FakeSpaceliftOptions = {}): Promise<FakeSpacelift> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const fake = new FakeSpacelift(server, (server.address() as AddressInfo).port, options);
    server.on('request', (req, res) => {
      const handled = fake.handle(req, res).catch((err: unknown) => {
        fake.reply(req, res, 500, JSON.stringify({ errors: [{ message: `fake server bug: ${String(err)}` }] }));
      });
      fake.inFlight.add(handled);
      void handled.finally(() => fake.inFlight.delete(handled));
    });
    return fake;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- state control -------------------------------------------------------------------------

  addWorker(input: AddWorkerInput = {}): FakeWorker {
    this.workerSeq++;
    const id = input.id ?? `01FAKEWORKER${String(this.workerSeq).padStart(14, '0')}`;
    if (this.workerMap.has(id)) throw new Error(`fake Spacelift: worker ${id} already exists`);
    const pool = input.workerPool ?? this.workerPoolId;
    this.mustGetPool(pool);
    const busy = input.busy ?? false;
    const createdAt = input.createdAt ?? this.nowSeconds();
    const metadata = input.metadata ?? JSON.stringify({
      asg_id: input.asgName ?? this.options.asgName ?? 'fake-asg',
      instance_id: input.instanceId ?? `i-${this.workerSeq.toString(16).padStart(17, '0')}`,
    });
    const worker: FakeWorker = {
      id,
      busy,
      drained: input.drained ?? false,
      createdAt,
      availableAt: input.availableAt !== undefined ? input.availableAt : busy ? null : createdAt,
      metadata,
    };
    this.workerMap.set(id, worker);
    this.workerPoolOf.set(id, pool);
    return worker;
  }

  removeWorker(id: string): void {
    this.mustGet(id);
    this.workerMap.delete(id);
    this.workerPoolOf.delete(id);
  }

  /** A pool that exists before the test's requests, e.g. one with a given name or labels. */
  addPool(input: AddPoolInput = {}): Readonly<FakePool> {
    const id = input.id ?? fakeUlid();
    if (this.poolMap.has(id)) throw new Error(`fake Spacelift: worker pool ${id} already exists`);
    const pool: FakePool = {
      id,
      name: input.name ?? `pool-${id}`,
      description: input.description ?? null,
      labels: [...input.labels ?? []],
      space: input.space ?? 'root',
      config: this.newConfig(id),
      certificateSigningRequest: '',
    };
    this.poolMap.set(id, pool);
    return { ...pool, labels: [...pool.labels] };
  }

  pool(id: string): Readonly<FakePool> | undefined {
    const pool = this.poolMap.get(id);
    return pool && { ...pool, labels: [...pool.labels] };
  }

  pools(): readonly Readonly<FakePool>[] {
    return [...this.poolMap.values()].map((p) => ({ ...p, labels: [...p.labels] }));
  }

  /**
   * Resolves once every request received so far has been handled, delayed ones included: a mutation whose client
   * gave up (timeout) still lands, as on a real server, and a test can wait for it.
   */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Changes a pool's labels as a user editing it in Spacelift would. */
  setPoolLabels(id: string, labels: readonly string[]): void {
    this.mustGetPool(id).labels = [...labels];
  }

  /** Going idle stamps `availableAt` with now, as Spacelift does. */
  setBusy(id: string, busy: boolean): void {
    const worker = this.mustGet(id);
    worker.busy = busy;
    if (!busy) worker.availableAt = this.nowSeconds();
  }

  setPendingRuns(count: number): void {
    this.pendingRuns = count;
  }

  setSchedulableRuns(count: number): void {
    this.schedulableRuns = count;
  }

  worker(id: string): Readonly<FakeWorker> | undefined {
    const worker = this.workerMap.get(id);
    return worker && { ...worker };
  }

  workers(): readonly Readonly<FakeWorker>[] {
    return [...this.workerMap.values()].map((w) => ({ ...w }));
  }

  isDrained(id: string): boolean {
    return this.mustGet(id).drained;
  }

  /** Replaces the drain hook; undefined removes it. */
  onDrain(hook: DrainHook | undefined): void {
    this.drainHook = hook;
  }

  // ---- auth ----------------------------------------------------------------------------------

  /** JWTs issued so far, oldest first (for "never logged" assertions). */
  issuedJwts(): readonly string[] {
    return [...this.tokens.keys()];
  }

  /** Server-side session removal: every JWT issued so far stops working. */
  revokeAllTokens(): void {
    for (const jwt of this.tokens.keys()) this.tokens.set(jwt, -Infinity);
  }

  // ---- observation and faults ----------------------------------------------------------------

  operations(): readonly ReceivedOperation[] {
    return [...this.received];
  }

  /** Requests whose operation name or a root field equals `nameOrField`. */
  count(nameOrField: string): number {
    return this.received.filter((op) => matches(op, nameOrField)).length;
  }

  clearOperations(): void {
    this.received.length = 0;
  }

  injectFault(fault: Fault, options: FaultOptions = {}): void {
    this.faults.push({ fault, match: options.match, remaining: options.times ?? 1 });
  }

  /** Faults still queued, e.g. to assert that a test consumed all it set up. */
  pendingFaults(): number {
    return this.faults.reduce((sum, f) => sum + f.remaining, 0);
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url !== this.graphqlPath) return this.reply(req, res, 404, JSON.stringify({ message: 'not found' }));
    if (req.method !== 'POST') return this.reply(req, res, 405, JSON.stringify({ message: 'use POST' }));

    const body = parseBody(await readAll(req));
    if (body === undefined) {
      return this.reply(req, res, 400, JSON.stringify({ errors: [{ message: 'request body must be JSON with a string "query"' }] }));
    }
    let document: DocumentNode | undefined;
    let syntaxError: GraphQLError | undefined;
    try {
      document = parse(body.query);
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err;
      syntaxError = err;
    }
    const operation = document && getOperationAST(document, body.operationName);
    const fields = operation?.selectionSet.selections.flatMap((s) => (s.kind === 'Field' ? [s.name.value] : [])) ?? [];
    const authorization = header(req, 'authorization');
    const fault = this.takeFault(body.operationName, fields);
    this.received.push({
      operationName: body.operationName ?? operation?.name?.value ?? null,
      fields,
      variables: 'secret' in body.variables ? { ...body.variables, secret: '[redacted]' } : { ...body.variables },
      query: body.query,
      authorization,
      ...(fault ? { fault: fault.kind } : {}),
    });

    if (fault?.kind === 'delay') await this.sleep(fault.ms);
    else if (fault) return this.replyFault(req, res, fault, authorization);

    if (syntaxError || !document) return this.replyErrors(req, res, 200, [syntaxError?.toJSON() ?? { message: 'no document' }]);
    const schema = this.options.legacySchema ? legacySchema : currentSchema;
    const validationErrors = validate(schema, document);
    // Spacelift (graph-gophers) answers validation failures with HTTP 200, like most Go servers.
    if (validationErrors.length > 0) return this.replyErrors(req, res, 200, validationErrors.map((e) => e.toJSON()));

    const needsAuth = fields.some((f) => f !== 'apiKeyUser' && f !== '__typename');
    const anonymous = needsAuth && !this.validJwt(authorization);
    const mode = this.options.authFailure ?? 'graphql';
    if (anonymous && (mode !== 'anonymous' || operation?.operation !== 'query')) {
      return this.authFailure(req, res, mode === 'anonymous' ? 'graphql' : mode);
    }
    const result = await execute({
      schema,
      document,
      rootValue: anonymous ? { workerPool: () => null, workerPools: () => [] } : this.rootValue(),
      variableValues: body.variables,
      operationName: body.operationName,
    });
    return this.reply(req, res, 200, JSON.stringify(result));
  }

  private rootValue(): Record<string, unknown> {
    return {
      apiKeyUser: ({ id, secret }: { id: string; secret: string }) => {
        // A wrong id or secret yields null, which the nullable `User` allows.
        if (id !== this.apiKeyId || secret !== this.apiKeySecret) return null;
        const jwt = `fake-jwt.${randomBytes(12).toString('hex')}`;
        const expiresAt = this.clock() + (this.options.jwtTtlSeconds ?? 3600) * 1000;
        this.tokens.set(jwt, expiresAt);
        return { id, jwt, validUntil: Math.floor(expiresAt / 1000) };
      },
      workerPool: ({ id }: { id: string }) => {
        const pool = this.poolMap.get(id);
        return pool === undefined ? null : this.served(pool);
      },
      workerPools: () => [...this.poolMap.values()].map((pool) => this.served(pool)),
      workerPoolCreate: (args: PoolArgs & { certificateSigningRequest: string }) => {
        const csr = checkedCsr(args.certificateSigningRequest);
        const pool = this.mustGetPool(this.addPool(poolFields(args)).id);
        pool.certificateSigningRequest = csr;
        return this.served(pool);
      },
      workerPoolUpdate: (args: PoolArgs & { id: string }) => {
        const pool = this.existingPool(args.id);
        Object.assign(pool, poolFields(args), { labels: [...args.labels ?? []] });
        return this.served(pool);
      },
      workerPoolReset: ({ id, certificateSigningRequest }: { id: string; certificateSigningRequest: string }) => {
        const pool = this.existingPool(id);
        pool.certificateSigningRequest = checkedCsr(certificateSigningRequest);
        pool.config = this.newConfig(id);
        return this.served(pool);
      },
      workerPoolDelete: ({ id }: { id: string }) => {
        const pool = this.existingPool(id);
        const reply = this.served(pool);
        this.poolMap.delete(id);
        for (const [workerId, poolId] of this.workerPoolOf) {
          if (poolId === id) this.removeWorker(workerId);
        }
        return reply;
      },
      workerDrainSet: async ({ workerPool, id, drain }: { workerPool: string; id: string; drain: boolean }) => {
        const worker = this.workerPoolOf.get(id) === workerPool ? this.workerMap.get(id) : undefined;
        // Wording of the real API (terraform-aws-spacelift-workerpool-on-ec2 #100).
        if (!worker) throw new Error(`could not set worker drain to ${drain}: not found`);
        worker.drained = drain;
        const reply = { ...worker };
        await this.drainHook?.({ workerId: id, drain, worker: reply });
        return reply;
      },
    };
  }

  private takeFault(operationName: string | null, fields: readonly string[]): Fault | undefined {
    const index = this.faults.findIndex((f) => f.match === undefined
      || f.match === operationName
      || fields.includes(f.match));
    if (index < 0) return undefined;
    const queued = this.faults[index];
    queued.remaining--;
    if (queued.remaining <= 0) this.faults.splice(index, 1);
    return queued.fault;
  }

  private replyFault(req: IncomingMessage, res: ServerResponse, fault: Exclude<Fault, { kind: 'delay' }>, authorization: string | undefined): void {
    switch (fault.kind) {
      case 'http':
        return this.reply(req, res, fault.status, JSON.stringify({ message: `injected HTTP ${fault.status}` }),
          fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) });
      case 'malformed':
        return this.reply(req, res, 200, '{"data": {"workerPool": {"pendingRuns": 1, "work');
      case 'graphqlError':
        return this.replyErrors(req, res, fault.status ?? 200, [{ message: fault.message }]);
      case 'partialData':
        return this.reply(req, res, 200, JSON.stringify({
          data: { workerPool: { pendingRuns: 0, busyWorkers: 0, workers: [] } },
          errors: [{ message: fault.message, path: ['workerPool', 'workers'] }],
        }));
      case 'unauthorized': {
        const jwt = bearer(authorization);
        if (jwt !== undefined && this.tokens.has(jwt)) this.tokens.set(jwt, -Infinity);
        return this.authFailure(req, res, fault.via);
      }
    }
  }

  /** `anonymous` (as an injected fault, best matched to `workerPool`) answers `workerPool: null`. */
  private authFailure(req: IncomingMessage, res: ServerResponse, via: 'http' | 'graphql' | 'anonymous'): void {
    switch (via) {
      case 'http':
        return this.reply(req, res, 401, JSON.stringify({ message: 'unauthorized' }));
      case 'graphql':
        return this.replyErrors(req, res, 200, [{ message: 'unauthorized' }]);
      case 'anonymous':
        return this.reply(req, res, 200, JSON.stringify({ data: { workerPool: null } }));
    }
  }

  private replyErrors(req: IncomingMessage, res: ServerResponse, status: number, errors: readonly GraphQLFormattedError[]): void {
    this.reply(req, res, status, JSON.stringify({ data: null, errors }));
  }

  private reply(req: IncomingMessage, res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    // The client may have given up (timeout) while a delayed request was being processed.
    if (req.socket.destroyed || res.writableEnded) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  }

  private validJwt(authorization: string | undefined): boolean {
    const jwt = bearer(authorization);
    const expiresAt = jwt === undefined ? undefined : this.tokens.get(jwt);
    return expiresAt !== undefined && this.clock() < expiresAt;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private served(pool: FakePool): Record<string, unknown> {
    const workers = this.workers().filter((w) => this.workerPoolOf.get(w.id) === pool.id);
    return {
      ...pool,
      labels: [...pool.labels],
      pendingRuns: pool.id === this.workerPoolId ? this.pendingRuns : 0,
      schedulableRunsCount: pool.id === this.workerPoolId ? this.schedulableRuns : 0,
      busyWorkers: workers.filter((w) => w.busy).length,
      workers,
    };
  }

  private newConfig(poolId: string): string {
    this.configSeq++;
    const token = { broker: { endpoint: 'fake-broker.spacelift.test' }, workerPool: poolId, serial: this.configSeq, marker: this.configMarker };
    return Buffer.from(JSON.stringify(token)).toString('base64');
  }

  /** The resolver's error for an unknown pool id (a GraphQL error, as a missing entity is in the real API). */
  private existingPool(id: string): FakePool {
    const pool = this.poolMap.get(id);
    if (!pool) throw new Error(`worker pool ${id} not found`);
    return pool;
  }

  private mustGetPool(id: string): FakePool {
    const pool = this.poolMap.get(id);
    if (!pool) throw new Error(`fake Spacelift: no worker pool ${id}`);
    return pool;
  }

  private mustGet(id: string): FakeWorker {
    const worker = this.workerMap.get(id);
    if (!worker) throw new Error(`fake Spacelift: no worker ${id}`);
    return worker;
  }

  private nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }
}

interface PoolArgs {
  readonly name: string;
  readonly description?: string | null;
  readonly labels?: readonly string[] | null;
  readonly space?: string | null;
}

function poolFields(args: PoolArgs): AddPoolInput {
  return { name: args.name, description: args.description ?? null, labels: args.labels ?? [], space: args.space ?? 'root' };
}

/** Spacelift needs base64 of a PEM CSR; anything else is refused before a pool is made. */
function checkedCsr(value: string): string {
  const text = /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? Buffer.from(value, 'base64').toString('utf8') : '';
  if (!/^-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n?$/.test(text)) {
    throw new Error('invalid certificate signing request: expected base64 of a PEM CERTIFICATE REQUEST');
  }
  return value;
}

/** 26 Crockford base32 characters, like Spacelift's ids. */
function fakeUlid(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  return `01${[...randomBytes(24)].map((b) => alphabet[b % 32]).join('')}`;
}

function matches(op: ReceivedOperation, nameOrField: string): boolean {
  return op.operationName === nameOrField || op.fields.includes(nameOrField);
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(text: string): RequestBody | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || typeof (raw as { query?: unknown }).query !== 'string') return undefined;
  const { query, operationName, variables } = raw as { query: string; operationName?: unknown; variables?: unknown };
  return {
    query,
    operationName: typeof operationName === 'string' ? operationName : null,
    variables: typeof variables === 'object' && variables !== null ? variables as Record<string, unknown> : {},
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function bearer(authorization: string | undefined): string | undefined {
  const match = /^Bearer (\S+)$/.exec(authorization ?? '');
  return match?.[1];
}
