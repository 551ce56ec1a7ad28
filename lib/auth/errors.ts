/** Base class of authentication errors. */
export class AuthError extends Error {
  override readonly name: string = 'AuthError';
}

/**
 * A request without valid credentials: no caller identity from the API's authorizer, or a peer request
 * whose token is missing, forged, expired, meant for another region or bound to another request.
 */
export class UnauthenticatedError extends AuthError {
  override readonly name = 'UnauthenticatedError';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`request is not authenticated: ${reason}`, options);
  }
}
