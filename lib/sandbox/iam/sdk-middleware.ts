import type { Decision } from './authorizer.ts';
import { type Caller, currentCaller } from './caller.ts';
import {
  type CallDescription,
  type CallTarget,
  describeDynamoDbCall,
  describeStreamsCall,
  dynamoDbValidationError,
} from './requests.ts';

/** The part of an SDK v3 client the enforcement needs. */
export interface InstrumentableClient {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; name: string }): void;
    addRelativeTo(
      middleware: unknown,
      options: { relation: 'after'; toMiddleware: string; name: string },
    ): void;
  };
}

/** What the middleware asks of the enforcement for each call. */
export interface CallGate {
  /** Decides the call (every request it needs), or undefined when nobody is attributed (sandbox plumbing). */
  decide(caller: Caller | undefined, call: CallDescription): Promise<Decision | undefined>;
  /** Counts the call once its size is known. */
  count(
    caller: Caller | undefined,
    call: CallDescription,
    bytes: number,
    decision: Decision | undefined,
  ): void;
}

export type ClientKind = 'dynamodb' | 'streams';

type Context = { commandName?: string; [key: symbol]: unknown };
type Handler = (args: { input: Record<string, unknown>; request?: unknown }) => Promise<{ output?: unknown }>;

const STATE = Symbol('multiactive.iam');
const MAX_REMEMBERED_ITERATORS = 10_000;
interface CallState {
  readonly caller: Caller | undefined;
  readonly call: CallDescription;
  readonly decision: Decision | undefined;
}

function bodyBytes(request: unknown): number {
  const body = (request as { body?: unknown } | undefined)?.body;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return 0;
}

/**
 * The answer AWS gives a denied call (HTTP 400, awsJson1_0 error). The SDK's own deserializer turns it
 * into the exception it would throw in AWS: `DynamoDBServiceException` named `AccessDeniedException`,
 * `$fault: 'client'`, status 400, not retried.
 */
function accessDenied(message: string) {
  return clientError('AccessDeniedException', message);
}

/** The answer AWS gives a call that fails a client-side rule (HTTP 400, awsJson1_0 error of `type`). */
function clientError(type: string, message: string) {
  const body = JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message });
  return {
    response: {
      statusCode: 400,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-errortype': type,
        'x-amzn-requestid': `sandbox-iam-${Date.now().toString(36)}`,
      },
      body: Buffer.from(body),
    },
  };
}

/**
 * Puts IAM in front of an SDK client: before a call is signed, it is mapped to its actions and resource
 * ARNs (`requests.ts`) and decided for the caller of the current asynchronous context; a denied call never
 * reaches DynamoDB Local and fails with the SDK's AccessDeniedException. Every call is counted. A
 * transaction AWS would refuse (two operations on one item) fails with its ValidationException.
 */
export function instrumentClient(
  client: InstrumentableClient,
  kind: ClientKind,
  target: CallTarget,
  gate: CallGate,
): void {
  // Streams: GetRecords names only an iterator; remember which stream each iterator belongs to.
  const iteratorStreams = new Map<string, unknown>();
  const describe = (operation: string, input: Record<string, unknown>): CallDescription => {
    if (kind === 'dynamodb') return describeDynamoDbCall(target, operation, input);
    const stream = input.StreamArn ?? iteratorStreams.get(String(input.ShardIterator));
    return describeStreamsCall(
      target,
      operation,
      stream === undefined ? input : { ...input, StreamArn: stream },
    );
  };
  client.middlewareStack.add(
    (next: Handler, context: Context) => async (args: Parameters<Handler>[0]) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const caller = currentCaller();
      const call = describe(operation, args.input);
      const state: CallState = { caller, call, decision: await gate.decide(caller, call) };
      context[STATE] = state;
      const result = await next(args);
      if (kind === 'streams')
        rememberIterator(iteratorStreams, { operation, input: args.input, output: result.output, call });
      return result;
    },
    { step: 'initialize', name: 'multiactiveIamAuthorize' },
  );
  client.middlewareStack.addRelativeTo(
    (next: Handler, context: Context) => async (args: Parameters<Handler>[0]) => {
      const state = context[STATE] as CallState | undefined;
      if (!state) return next(args);
      gate.count(state.caller, state.call, bodyBytes(args.request), state.decision);
      if (state.decision && !state.decision.allowed) return accessDenied(state.decision.message);
      // DynamoDB Local accepts what AWS refuses: the sandbox refuses it as AWS does.
      const invalid =
        kind === 'dynamodb'
          ? dynamoDbValidationError(state.call.operation.replace(/^dynamodb:/, ''), args.input)
          : undefined;
      if (invalid) return clientError('ValidationException', invalid);
      return next(args);
    },
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'multiactiveIamDeny' },
  );
}

function rememberIterator(
  iterators: Map<string, unknown>,
  step: { operation: string; input: Record<string, unknown>; output: unknown; call: CallDescription },
): void {
  const { operation, input, output, call } = step;
  const out = (output ?? {}) as { ShardIterator?: string; NextShardIterator?: string };
  const stream = call.requests[0]?.resource;
  // A poller asks for fresh iterators at every restart; an unused one would stay here forever.
  if (iterators.size > MAX_REMEMBERED_ITERATORS) iterators.clear();
  if (operation === 'GetShardIterator' && out.ShardIterator)
    iterators.set(out.ShardIterator, input.StreamArn);
  if (operation === 'GetRecords') {
    const previous = iterators.get(String(input.ShardIterator)) ?? stream;
    iterators.delete(String(input.ShardIterator));
    if (out.NextShardIterator) iterators.set(out.NextShardIterator, previous);
  }
}
