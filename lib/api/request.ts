import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import secureJson from 'secure-json-parse';
import { z } from 'zod';
import {
  AGGREGATE_TYPE_PATTERN,
  aggregateIdSchema,
  inspectJson,
  MAX_AGGREGATE_ID_LENGTH,
  MAX_JSON_DEPTH,
} from '../model/identifiers.ts';
import { HttpError } from './http-error.ts';

/** Largest request body accepted before parsing (API Gateway's own limit is 10 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

export const commandBodySchema = z.strictObject({
  type: z.string().min(1).max(128),
  payload: z.record(z.string(), z.unknown()).default({}),
  idempotencyKey: z.string().min(1).max(128).optional(),
});
export type CommandBody = z.infer<typeof commandBodySchema>;

/** The request body as text (API Gateway may base64-encode it). */
function bodyText(event: APIGatewayProxyEventV2): string {
  if (!event.body) throw new HttpError(400, 'MissingBody', 'request body is required');
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    throw new HttpError(
      413,
      'BodyTooLarge',
      `request body is ${bytes} bytes; the limit is ${MAX_BODY_BYTES}`,
    );
  }
  return text;
}

/**
 * JSON.parse with prototype-poisoning protection (secure-json-parse, as Fastify uses it): a `__proto__`
 * key, or a `constructor.prototype`, is refused instead of being turned into an own property that a
 * later merge or lookup could follow.
 */
function parseJson(text: string): unknown {
  try {
    return secureJson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = (error as Error).message;
    if (/prototype/i.test(message)) {
      throw new HttpError(400, 'ForbiddenKey', `request body is refused: ${message}`);
    }
    throw new HttpError(400, 'InvalidJson', `request body is not valid JSON: ${message}`);
  }
}

/** Refuses, at any depth, the keys that reach an object's prototype, and bodies nested too deeply. */
function refuseDangerousShape(json: unknown): void {
  const shape = inspectJson(json);
  if (shape.tooDeep) {
    throw new HttpError(400, 'InvalidRequest', `request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (shape.forbiddenKeys.length > 0) {
    throw new HttpError(400, 'ForbiddenKey', 'request body carries keys that are never accepted', {
      details: { paths: shape.forbiddenKeys, forbidden: ['__proto__', 'constructor', 'prototype'] },
    });
  }
}

/** Parses and validates a command request body; every failure is a 4xx with the reason. */
export function parseCommandBody(event: APIGatewayProxyEventV2): CommandBody {
  const json = parseJson(bodyText(event));
  refuseDangerousShape(json);
  const parsed = commandBodySchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: i.path.map(String).join('.'),
      message: i.message,
    }));
    throw new HttpError(
      400,
      'InvalidRequest',
      'request body does not match { type, payload, idempotencyKey? }',
      { details: { issues } },
    );
  }
  return parsed.data;
}

/** A required path parameter, percent-decoded; malformed encoding is a 400, not a crash. */
export function pathParameter(event: APIGatewayProxyEventV2, name: string): string {
  const value = event.pathParameters?.[name];
  if (!value) throw new HttpError(400, 'MissingPathParameter', `path parameter "${name}" is required`);
  try {
    return decodeURIComponent(value);
  } catch {
    throw new HttpError(400, 'InvalidPath', `path parameter "${name}" is not valid percent-encoding`);
  }
}

/** The aggregate a `/v1/{aggregateType}/{id}...` request names, checked before anything looks it up. */
export interface AggregateTarget {
  readonly aggregateType: string;
  readonly aggregateId: string;
}

/**
 * The aggregate type and id of a request, validated at the edge: the type must be a possible type name
 * (unknown but well-formed types are a 404 later), the id must fit every table key it ends up in.
 */
export function aggregateTarget(event: APIGatewayProxyEventV2): AggregateTarget {
  const aggregateType = pathParameter(event, 'aggregateType');
  if (!AGGREGATE_TYPE_PATTERN.test(aggregateType)) {
    throw new HttpError(400, 'InvalidAggregateType', 'aggregate type is not a valid type name', {
      details: { pattern: AGGREGATE_TYPE_PATTERN.source },
    });
  }
  const aggregateId = pathParameter(event, 'id');
  const id = aggregateIdSchema.safeParse(aggregateId);
  if (!id.success) {
    throw new HttpError(
      400,
      'InvalidAggregateId',
      `aggregate id is refused: ${id.error.issues[0]?.message}`,
      {
        details: { maxLength: MAX_AGGREGATE_ID_LENGTH, length: aggregateId.length },
      },
    );
  }
  return { aggregateType, aggregateId };
}
