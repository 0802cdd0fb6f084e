import type { ApiErrorCode, ApiErrorShape } from './api.ts';

/** An error that crosses the API: its message is for a person and says what to do. */
export class ApiError extends Error implements ApiErrorShape {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON(): ApiErrorShape {
    return { code: this.code, message: this.message };
  }

  static from(err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    if (err && typeof err === 'object' && 'code' in err && 'message' in err) {
      const { code, message } = err as { code: unknown; message: unknown };
      if (isApiErrorCode(code) && typeof message === 'string') return new ApiError(code, message);
    }
    return new ApiError('internal', err instanceof Error ? err.message : String(err));
  }
}

const codes: readonly ApiErrorCode[] = ['bad-request', 'not-found', 'refused', 'internal'];
export function isApiErrorCode(x: unknown): x is ApiErrorCode {
  return typeof x === 'string' && (codes as readonly string[]).includes(x);
}
