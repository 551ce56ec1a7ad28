import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { toHttpError } from './http-error.ts';
import { jsonResponse } from './responses.ts';

export interface HttpErrorsOptions {
  /** Extra headers on every error response (e.g. `X-Multiactive-Region`). */
  headers?: Record<string, string>;
  /** Called with every 5xx so it gets logged. */
  logError?: (error: unknown) => void;
}

const defaults: Required<HttpErrorsOptions> = { headers: {}, logError: () => {} };

/**
 * Turns any error into a JSON response `{ error, message, details }`: library errors get their 4xx, anything
 * unknown a 500 with the message hidden.
 */
export function httpErrors(
  opts: HttpErrorsOptions = {},
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const options = { ...defaults, ...opts };
  const httpErrorsOnError = async (
    request: Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>,
  ) => {
    if (request.response !== undefined) return;
    const error = toHttpError(request.error);
    if (!error.expose) options.logError(request.error);
    request.response = jsonResponse(
      error.statusCode,
      { error: error.code, message: error.expose ? error.message : 'internal error', details: error.details },
      { ...options.headers, ...error.headers },
    );
  };
  return { onError: httpErrorsOnError };
}

/** Adds fixed headers to every successful response. */
export function responseHeaders(
  headers: Record<string, string>,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const responseHeadersAfter = async (
    request: Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>,
  ) => {
    if (!request.response) return;
    request.response = { ...request.response, headers: { ...headers, ...request.response.headers } };
  };
  return { after: responseHeadersAfter };
}
