/**
 * The bad-input classes of the HTTP API, as data, over every route. The same table is run against the
 * handler (test/integration/bad-input/classes.test.ts) and through the sandbox's HTTP endpoints
 * (test/e2e/edge.test.ts). Each case names the answer it must get; none may change anything.
 */

/** Names every object inherits: a lookup that finds them is a lookup without an own-property check. */
export const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

/** The aggregate every write case targets; it is opened before the cases run and must stay as it is. */
export const VICTIM = { type: 'account', id: 'bad-input-victim' } as const;

export interface BadRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent without the caller identity that API Gateway's authorizer would have attached. */
  readonly anonymous?: boolean;
}

export interface BadInputCase {
  readonly name: string;
  readonly request: BadRequest;
  /** Status and error code the handler answers. */
  readonly status: number;
  readonly error: string;
  /**
   * When API Gateway answers the request itself in the sandbox (no route, no credentials), what it
   * answers instead: its own status and `{ "message" }`.
   */
  readonly gateway?: { readonly status: number; readonly message: string };
}

const commands = `/v1/${VICTIM.type}/${VICTIM.id}/commands`;
const post = (body: unknown, path = commands): BadRequest => ({
  method: 'POST',
  path,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
});
const deposit = { type: 'Deposit', payload: { amount: 1 } };

/** Class: a client-supplied name that is a member of Object.prototype, wherever a name is looked up. */
function prototypeNames(): BadInputCase[] {
  return PROTOTYPE_NAMES.flatMap((name): BadInputCase[] => {
    // `__proto__`, `toString`... are not type names at all (upper case, underscores): refused at the edge.
    const typeError = /^[a-z][a-z0-9-]*$/.test(name) ? 'UnknownAggregateError' : 'InvalidAggregateType';
    const typeStatus = typeError === 'UnknownAggregateError' ? 404 : 400;
    return [
      {
        name: `command type ${name}`,
        request: post({ type: name, payload: {} }),
        status: 400,
        error: 'UnknownCommandError',
      },
      {
        name: `aggregate type ${name} (write)`,
        request: post(deposit, `/v1/${encodeURIComponent(name)}/x1/commands`),
        status: typeStatus,
        error: typeError,
      },
      {
        name: `aggregate type ${name} (read)`,
        request: { method: 'GET', path: `/v1/${encodeURIComponent(name)}/x1` },
        status: typeStatus,
        error: typeError,
      },
      {
        name: `${name} as a route segment`,
        request: { method: 'GET', path: `/v1/${encodeURIComponent(name)}` },
        status: 404,
        error: 'RouteNotFound',
      },
    ];
  });
}

/** Class: ids that break a key limit, a key separator or the route. */
function badIds(): BadInputCase[] {
  const ids: Array<[string, string]> = [
    ['201 characters', 'a'.repeat(201)],
    ['3,000 characters (beyond every DynamoDB key limit)', 'a'.repeat(3_000)],
    ['a key separator #', 'a%23b'],
    ['a slash', 'a%2Fb'],
    ['a space', 'a%20b'],
    ['a NUL character', 'a%00b'],
    ['malformed percent-encoding', 'a%E0%A4%A'],
    ['non-ASCII letters', '%C3%A9t%C3%A9'],
  ];
  return ids.flatMap(([what, id]): BadInputCase[] => {
    const error = what === 'malformed percent-encoding' ? 'InvalidPath' : 'InvalidAggregateId';
    return [
      {
        name: `id with ${what} (write)`,
        request: post(deposit, `/v1/account/${id}/commands`),
        status: 400,
        error,
      },
      {
        name: `id with ${what} (read)`,
        request: { method: 'GET', path: `/v1/account/${id}` },
        status: 400,
        error,
      },
    ];
  });
}

/** Class: bodies that carry keys reaching an object's prototype, at any depth, or nest without end. */
function poisonedBodies(): BadInputCase[] {
  const cases: Array<[string, string]> = [
    ['__proto__ at the top', '{"type":"Deposit","payload":{"amount":1},"__proto__":{"admin":true}}'],
    ['__proto__ in the payload', '{"type":"Deposit","payload":{"amount":1,"__proto__":{"amount":9}}}'],
    [
      'constructor.prototype',
      '{"type":"Deposit","payload":{"constructor":{"prototype":{"x":1}},"amount":1}}',
    ],
    ['a constructor key', '{"type":"Deposit","payload":{"amount":1,"constructor":"x"}}'],
    [
      '__proto__ deep in an array',
      '{"type":"Deposit","payload":{"amount":1,"tags":[{"a":{"__proto__":{}}}]}}',
    ],
  ];
  const deep = `{"type":"Deposit","payload":{"amount":1,"x":${'['.repeat(5_000)}${']'.repeat(5_000)}}}`;
  return [
    ...cases.map(([what, body]) => ({
      name: `body with ${what}`,
      request: post(body),
      status: 400,
      error: 'ForbiddenKey',
    })),
    { name: 'body nested 5,000 levels deep', request: post(deep), status: 400, error: 'InvalidRequest' },
    {
      name: 'idempotencyKey that is not a string',
      request: post({ ...deposit, idempotencyKey: { $ne: null } }),
      status: 400,
      error: 'InvalidRequest',
    },
  ];
}

/** Class: requests without credentials, on every client route. */
function unauthenticated(): BadInputCase[] {
  const gateway = { status: 401, message: 'Unauthorized' };
  const requests: Array<[string, BadRequest]> = [
    ['a command', { ...post(deposit), anonymous: true }],
    ['a read', { method: 'GET', path: `/v1/${VICTIM.type}/${VICTIM.id}`, anonymous: true }],
    ['the replication status', { method: 'GET', path: '/v1/replication/status', anonymous: true }],
  ];
  return requests.map(([what, request]) => ({
    name: `${what} without credentials`,
    request,
    status: 401,
    error: 'UnauthenticatedError',
    gateway,
  }));
}

/** Class: requests that pose as a peer (internal routes without a valid peer token). */
function forgedPeers(): BadInputCase[] {
  const internal = `/internal${commands}`;
  const requests: Array<[string, BadRequest]> = [
    ['no token', post(deposit, internal)],
    [
      'a token not signed with the internal key',
      {
        ...post(deposit, internal),
        headers: {
          'content-type': 'application/json',
          authorization:
            'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6Im11bHRpYWN0aXZlLXBlZXIrand0In0.eyJpc3MiOiJtdWx0aWFjdGl2ZTpkZXY6ZXUtd2VzdC0xIn0.c2lnbmF0dXJl',
        },
      },
    ],
    ['a read with no token', { method: 'GET', path: `/internal/v1/${VICTIM.type}/${VICTIM.id}` }],
  ];
  return requests.map(([what, request]) => ({
    name: `internal route with ${what}`,
    request,
    status: 401,
    error: 'UnauthenticatedError',
  }));
}

/** Every case of every class. */
export function badInputCases(): BadInputCase[] {
  return [...prototypeNames(), ...badIds(), ...poisonedBodies(), ...unauthenticated(), ...forgedPeers()];
}
