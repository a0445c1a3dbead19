// Results that cross process boundaries: values or serialized errors, never thrown exceptions.

import { noticeText, type Notice } from './notices.js';

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
  /** Where the problem is, e.g. the request field or file that was rejected. */
  readonly detail?: string;
  /** What the user reads: a key with parameters, rendered by the renderer in the user's language. */
  readonly notice?: Notice;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SerializedError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, message: string, detail?: string): Result<T> {
  return { ok: false, error: detail === undefined ? { code, message } : { code, message, detail } };
}

/**
 * An expected failure with a user-facing message; anything else thrown is a bug. Pass a Notice (a key of
 * `NOTICES` with its parameters) so the user reads it in their language; a plain string is the older form,
 * which the renderer can only show as it is.
 */
export class StudioError extends Error {
  override readonly name = 'StudioError';
  readonly notice: Notice | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string | Notice,
    readonly detail?: string,
  ) {
    super(typeof message === 'string' ? message : noticeText(message));
    this.notice = typeof message === 'string' ? undefined : message;
  }

  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.notice === undefined ? {} : { notice: this.notice }),
    };
  }
}

/** Turns anything thrown into a SerializedError; unexpected errors keep their message but are marked internal. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof StudioError) return error.toJSON();
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message, notice: { key: 'error.internal', params: { message } } };
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unexpected ${what}: ${JSON.stringify(value)}`);
}
