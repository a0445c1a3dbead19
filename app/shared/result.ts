// Results that cross process boundaries: values or serialized errors, never thrown exceptions.

import { notice, noticeText, type Notice } from './notices.js';

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
  'database-corrupt',
  'download-failed',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The shape an error takes when it crosses a process boundary (instanceof does not survive a clone). */
export interface SerializedError {
  readonly code: ErrorCode;
  /** English text, for the CLI and logs; the renderer shows `notice` in the user's language instead. */
  readonly message: string;
  /** Where the problem is, e.g. the request field or file that was rejected, or the system's own words. */
  readonly detail?: string;
  /** What the user reads: a key with parameters, rendered by the renderer in the user's language. */
  readonly notice: Notice;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SerializedError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, n: Notice, detail?: string): Result<T> {
  return { ok: false, error: new StudioError(code, n, detail).toJSON() };
}

/**
 * An expected failure with a user-facing message; anything else thrown is a bug. The message is a Notice
 * (a key of `NOTICES` with its parameters) so the user reads it in their language; the English text is
 * the Error's message for the CLI and logs. `detail` keeps what the system said (a file, an OS error).
 */
export class StudioError extends Error {
  override readonly name = 'StudioError';
  constructor(
    readonly code: ErrorCode,
    readonly notice: Notice,
    readonly detail?: string,
  ) {
    super(noticeText(notice));
  }

  /** The error again on this side of a process boundary. */
  static from(e: SerializedError): StudioError {
    return new StudioError(e.code, e.notice, e.detail);
  }

  toJSON(): SerializedError {
    return { code: this.code, message: this.message, ...(this.detail === undefined ? {} : { detail: this.detail }), notice: this.notice };
  }
}

/** Turns anything thrown into a SerializedError; unexpected errors keep their message but are marked internal. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof StudioError) return error.toJSON();
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message, notice: notice('error.internal', { message }) };
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unexpected ${what}: ${JSON.stringify(value)}`);
}
