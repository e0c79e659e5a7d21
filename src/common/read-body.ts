/** An upstream answer longer than the configured cap (UPSTREAM_MAX_BODY_BYTES). */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`answer larger than ${limitBytes} bytes (UPSTREAM_MAX_BODY_BYTES)`);
    this.name = 'BodyTooLargeError';
  }
}

/** The BodyTooLargeError behind `error` (fetch wraps a stream's error in its own), if any. */
export function bodyTooLarge(error: unknown): BodyTooLargeError | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++)
    if (e instanceof BodyTooLargeError) return e;
  return undefined;
}

/**
 * The same response, whose body fails with BodyTooLargeError as soon as more than `maxBytes` arrive
 * (at once when the Content-Length says so), and whose connection is then released: however it is
 * read (`json()`, `text()`), an upstream can never make us hold more than `maxBytes` of its answer.
 */
export function withBodyCap(response: Response, maxBytes: number): Response {
  if (!response.body) return response;
  const declared = Number(response.headers.get('content-length'));
  let seen = 0;
  const cap = new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      if (Number.isFinite(declared) && declared > maxBytes) controller.error(new BodyTooLargeError(maxBytes));
    },
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > maxBytes) controller.error(new BodyTooLargeError(maxBytes));
      else controller.enqueue(chunk);
    },
  });
  // The pipe cancels the upstream body when the cap errors, which closes the connection.
  return new Response(response.body.pipeThrough(cap), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
