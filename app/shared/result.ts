// Results that cross process boundaries: values or serialized errors, never thrown exceptions.

/** Error codes the user may see; each comes with a message that says what happened and what to do. */
export const ERROR_CODES = [
  'invalid-request',
  'model-not-found',
  'model-unsupported',
  'worker-crashed',
  'worker-unavailable',
  'inference-failed',
  'cancelled',
  'not-found',
  'storage-failed',
  'database-too-new',
  'download-failed',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The shape an error takes when it crosses a process boundary (instanceof does not survive a clone). */
export interface SerializedError {
  readonly code: ErrorCode;
  readonly message: string;
  /** Where the problem is, e.g. the request field or file that was rejected. */
  readonly detail?: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SerializedError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, message: string, detail?: string): Result<T> {
  return { ok: false, error: detail === undefined ? { code, message } : { code, message, detail } };
}

/** An expected failure with a user-facing message; anything else thrown is a bug. */
export class StudioError extends Error {
  override readonly name = 'StudioError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }

  toJSON(): SerializedError {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail };
  }
}

/** Turns anything thrown into a SerializedError; unexpected errors keep their message but are marked internal. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof StudioError) return error.toJSON();
  if (error instanceof Error) return { code: 'internal', message: error.message };
  return { code: 'internal', message: String(error) };
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unexpected ${what}: ${JSON.stringify(value)}`);
}
