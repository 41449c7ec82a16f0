// The one way the browser app talks HTTP: JSON in, JSON or problem+json out, errors as
// ApiError with the contract's stable machine ``code``.

export interface FieldProblem {
  field: string;
  message: string;
  type: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldProblem[] = [],
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The problem reported for one field (``email``, ``value.diastolic``...), if any. */
  field(name: string): FieldProblem | undefined {
    return this.fields.find((f) => f.field === name || f.field.startsWith(`${name}.`));
  }
}

export const API_BASE = "/api/v1";

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function send(
  method: string,
  path: string,
  options: {
    body?: unknown;
    token?: string | null;
    signal?: AbortSignal;
    headers?: Record<string, string>;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers, Accept: "application/json" };
  // A FormData body (an upload) goes as multipart/form-data, its boundary set by the browser.
  const form = options.body instanceof FormData;
  if (options.body !== undefined && !form) headers["Content-Type"] = "application/json";
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  try {
    return await fetch(API_BASE + path, {
      method,
      headers,
      body: options.body === undefined ? undefined : form ? (options.body as FormData) : JSON.stringify(options.body),
      credentials: "same-origin",
      cache: "no-store",
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network", "the server could not be reached");
  }
}

export async function problemOf(response: Response): Promise<ApiError> {
  let body: { code?: string; detail?: string; errors?: FieldProblem[] } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON (a proxy's error page): the status says enough
  }
  const retry = Number(response.headers.get("Retry-After"));
  return new ApiError(
    response.status,
    body.code ?? (response.status >= 500 ? "unavailable" : "error"),
    body.detail ?? response.statusText,
    Array.isArray(body.errors) ? body.errors : [],
    Number.isFinite(retry) && retry > 0 ? retry : null,
  );
}

export async function decode<T>(response: Response): Promise<T> {
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
