/**
 * Client for the self-hosted password-reset service (this repository's README).
 *
 * - `requestPasswordReset(email, { maxConcurrentRequestsPerEmail, preventEmailSending })` is
 *   ProductFlame's call shape, sent to the ProductFlame route (`POST /v1/auth/reset-password`,
 *   `Authorization: <secret key>`): a server call, so it needs `secretKey`. It resolves
 *   `{ activation }` (the reset code) for a known user and `{}` for an unknown one.
 * - `checkCode(code)` and `resetPassword(code, password)` call the native public routes
 *   (`POST /password-reset/check`, `/password-reset/consume`): no key is sent, so a reset page
 *   may use them in the browser.
 *
 * Every failure is a {@link PasswordResetError} carrying the service's `code`, the HTTP `status`
 * and, on 429 and 503, `retryAfter` in seconds. No runtime dependencies: the global `fetch`
 * (Node 18+, browsers, Deno, Bun) or one you pass.
 */

/** The ProductFlame route. */
export const RESET_PASSWORD_PATH = '/v1/auth/reset-password';
/** The native check route. */
export const CHECK_PATH = '/password-reset/check';
/** The native consume route. */
export const CONSUME_PATH = '/password-reset/consume';

/** How the client reaches the service. */
export interface PasswordResetClientOptions {
  /** The service's base URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`. */
  baseUrl: string;
  /**
   * The server key (its SHA-256 is the service's `SERVER_KEY_SHA256`), sent raw as
   * `Authorization` on `requestPasswordReset` only. Backend only: never ship it to a browser.
   */
  secretKey?: string;
  /** A `fetch` to use instead of the global one (tests, proxies, older runtimes). */
  fetch?: typeof fetch;
  /** Abort a call after this many milliseconds (default 10000; 0: never). */
  timeoutMs?: number;
}

/** ProductFlame's options for `requestPasswordReset`. */
export interface RequestPasswordResetOptions {
  /**
   * Maximum concurrent requests per email for this call (ProductFlame's default: 3). The
   * service clamps it to its `MAX_CONCURRENT_REQUESTS`.
   */
  maxConcurrentRequestsPerEmail?: number;
  /** `true`: return the activation id and send no mail. */
  preventEmailSending?: boolean;
}

/**
 * What `requestPasswordReset` resolves: the activation id (the reset code) for a known user;
 * no `activation` when the user does not exist (ProductFlame's "silent failure").
 */
export interface RequestPasswordResetResult {
  activation?: string;
}

/** What `checkCode` resolves. */
export interface CheckCodeResult {
  /** Whether the code can still be used (unknown, spent, revoked and expired codes are not). */
  isValid: boolean;
  /** When a valid code expires (RFC 3339, UTC). */
  expiresAt?: string;
}

/**
 * The codes a call can fail with: the ProductFlame route's (`BAD_REQUEST`, `TOO_MANY_REQUESTS`,
 * `UNKNOWN_ERROR`, ...), the native routes' (`VALIDATION_FAILED`, `INVALID_CODE`, ...), and the
 * client's own `NETWORK_ERROR`, `TIMEOUT` and `INVALID_RESPONSE`.
 */
export type PasswordResetErrorCode =
  | 'BAD_REQUEST'
  | 'TOO_MANY_REQUESTS'
  | 'UNKNOWN_ERROR'
  | 'UNAUTHORIZED'
  | 'MALFORMED_JSON'
  | 'INVALID_BODY'
  | 'VALIDATION_FAILED'
  | 'INVALID_CODE'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'EMAIL_DELIVERY_FAILED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | 'INVALID_RESPONSE'
  | 'MISSING_SECRET_KEY'
  | (string & {});

/** A call that did not succeed. Never holds the key, the code or the password. */
export class PasswordResetError extends Error {
  override readonly name = 'PasswordResetError';
  /** The service's machine-readable code, or the client's own (see the type). */
  readonly code: PasswordResetErrorCode;
  /** The HTTP status; 0 when no answer arrived. */
  readonly status: number;
  /** Seconds to wait before retrying (429 and 503: the `Retry-After` header). */
  readonly retryAfter: number | undefined;
  /** Per-field problems, when the native routes name them (`VALIDATION_FAILED`). */
  readonly fieldErrors: Readonly<Record<string, string>> | undefined;

  constructor(
    message: string,
    init: {
      code: PasswordResetErrorCode;
      status: number;
      retryAfter?: number | undefined;
      fieldErrors?: Record<string, string> | undefined;
      cause?: unknown;
    },
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.retryAfter = init.retryAfter;
    this.fieldErrors = init.fieldErrors;
  }
}

type Json = Record<string, unknown>;

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date), else from the body. */
function retryAfterOf(headers: Headers, body: Json): number | undefined {
  const header = headers.get('retry-after');
  if (header !== null) {
    const trimmed = header.trim();
    if (/^\d+$/.test(trimmed)) return Number(trimmed);
    const at = Date.parse(trimmed);
    if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - Date.now()) / 1000));
  }
  const fromBody = body['retry_after'] ?? body['retryAfter'];
  return typeof fromBody === 'number' ? fromBody : undefined;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/**
 * The service's client. `client.auth` is the client itself, so ProductFlame's
 * `provider.auth.requestPasswordReset(...)` reads the same.
 */
export class PasswordResetClient {
  readonly #baseUrl: string;
  readonly #secretKey: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  /** ProductFlame's namespace: `client.auth.requestPasswordReset(...)`. */
  readonly auth: this = this;

  constructor(options: PasswordResetClientOptions) {
    if (typeof options?.baseUrl !== 'string' || options.baseUrl === '') {
      throw new TypeError('PasswordResetClient: baseUrl is required');
    }
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#secretKey = options.secretKey;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') {
      throw new TypeError('PasswordResetClient: no global fetch; pass options.fetch');
    }
    this.#fetch = f;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Creates a reset request (ProductFlame's call): mails the user a link unless
   * `preventEmailSending`, and resolves the activation id, which is the reset code
   * (`resetPassword` accepts it). Resolves `{}` when the user does not exist.
   */
  async requestPasswordReset(
    email: string,
    options: RequestPasswordResetOptions = {},
  ): Promise<RequestPasswordResetResult> {
    if (this.#secretKey === undefined || this.#secretKey === '') {
      throw new PasswordResetError('requestPasswordReset needs the secretKey option (server only).', {
        code: 'MISSING_SECRET_KEY',
        status: 0,
      });
    }
    const body: Json = { email };
    if (options.maxConcurrentRequestsPerEmail !== undefined) {
      body['maxRequests'] = options.maxConcurrentRequestsPerEmail;
    }
    if (options.preventEmailSending !== undefined) {
      body['preventEmailSending'] = options.preventEmailSending;
    }
    const answer = await this.#post(RESET_PASSWORD_PATH, body, this.#secretKey);
    return typeof answer['activation'] === 'string' ? { activation: answer['activation'] } : {};
  }

  /** Whether `code` can still be used, without using it. */
  async checkCode(code: string): Promise<CheckCodeResult> {
    const answer = await this.#post(CHECK_PATH, { code });
    if (typeof answer['is_valid'] !== 'boolean') throw invalidResponse(200);
    const result: CheckCodeResult = { isValid: answer['is_valid'] };
    if (typeof answer['expires_at'] === 'string') result.expiresAt = answer['expires_at'];
    return result;
  }

  /**
   * Spends `code` and sets `password` as the user's new password. A password the policy
   * refuses rejects with `VALIDATION_FAILED` (see `fieldErrors.password`) and leaves the code
   * valid; a used, revoked or expired code rejects with `INVALID_CODE`.
   */
  async resetPassword(code: string, password: string): Promise<void> {
    await this.#post(CONSUME_PATH, { code, password });
  }

  async #post(path: string, body: Json, rawKey?: string): Promise<Json> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (rawKey !== undefined) headers['authorization'] = rawKey;
    const init: RequestInit = { method: 'POST', headers, body: JSON.stringify(body) };
    if (this.#timeoutMs > 0) init.signal = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    try {
      response = await this.#fetch(`${this.#baseUrl}${path}`, init);
    } catch (cause) {
      const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
      throw new PasswordResetError(
        timedOut ? `No answer within ${this.#timeoutMs} ms.` : 'The service could not be reached.',
        { code: timedOut ? 'TIMEOUT' : 'NETWORK_ERROR', status: 0, cause },
      );
    }
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch {
      throw invalidResponse(response.status);
    }
    if (!isObject(parsed)) throw invalidResponse(response.status);
    if (response.ok) return parsed;
    // ProductFlame's errors are {error: CODE, message}; the native ones {error: sentence, code}.
    const code =
      typeof parsed['code'] === 'string'
        ? parsed['code']
        : typeof parsed['error'] === 'string'
          ? parsed['error']
          : 'UNKNOWN_ERROR';
    const message =
      typeof parsed['message'] === 'string'
        ? parsed['message']
        : typeof parsed['code'] === 'string' && typeof parsed['error'] === 'string'
          ? parsed['error']
          : `HTTP ${response.status}`;
    throw new PasswordResetError(message, {
      code,
      status: response.status,
      retryAfter: retryAfterOf(response.headers, parsed),
      fieldErrors: stringRecord(parsed['field_errors']),
    });
  }
}

function invalidResponse(status: number): PasswordResetError {
  return new PasswordResetError('The service answered something that is not its JSON.', {
    code: 'INVALID_RESPONSE',
    status,
  });
}

/** A client: `createClient({ baseUrl, secretKey }).auth.requestPasswordReset(email, options)`. */
export function createClient(options: PasswordResetClientOptions): PasswordResetClient {
  return new PasswordResetClient(options);
}
