/** The application config module could not be read (missing, or failed to import). */
export class ApplicationConfigError extends Error {
  override readonly name = 'ApplicationConfigError';
  /** The absolute path that was looked at. */
  readonly path: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(
      `cannot read the application config ${path}: ${reason} (it default-exports defineApp({ name, aggregates, sagas, environments }))`,
      options,
    );
    this.path = path;
  }
}
