import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
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

/** The request body parsed as JSON: 400 `MissingBody` / `InvalidJson`, 413 `BodyTooLarge`. */
export function parseJsonBody(event: APIGatewayProxyEventV2): unknown {
  try {
    return JSON.parse(bodyText(event));
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, 'InvalidJson', `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Parses and validates a command request body; every failure is a 400 with the reason. */
export function parseCommandBody(event: APIGatewayProxyEventV2): CommandBody {
  const json = parseJsonBody(event);
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

/** A required path parameter. */
export function pathParameter(event: APIGatewayProxyEventV2, name: string): string {
  const value = event.pathParameters?.[name];
  if (!value) throw new HttpError(400, 'MissingPathParameter', `path parameter "${name}" is required`);
  return decodeURIComponent(value);
}
