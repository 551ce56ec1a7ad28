/** A GTM configured with something it cannot route with. */
export class GtmConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GtmConfigError';
  }
}
