/**
 * SRH's response strings, byte for byte (serverless-redis-http 0.0.10): clients and tests match on them.
 * The last block is ours, for the cases where SRH crashes with an empty 500 instead.
 */
export const MESSAGES = {
  welcome: "Welcome to Serverless Redis HTTP!",
  contentType: "Invalid content type. Expected application/json.",
  authorization: "Missing/Invalid authorization header",
  commandArray: "Invalid command array. Expected a string array at root of the command and its arguments.",
  pipelineArray: "Invalid command array. Expected an array of string arrays at root.",
  token: "Invalid token",
  notFound: "SRH: Endpoint not found. SRH might not support this feature yet.",
  unavailable: "SRH: Unable to connect to the Redis server. See SRH logs for more information.",
  internal: "SRH: An error occurred internally",
  // Not in SRH, which crashes (empty 500) in these cases.
  emptyCommand: "ERR empty command",
  bodyTooLarge: (limit: number) => `SRH: Request body too large. The limit is ${limit} bytes.`,
  malformedJson: (reason: string) => `SRH: Malformed JSON body: ${reason}`,
  timeout: (ms: number) => `SRH: Redis did not answer within ${ms} ms.`,
} as const;

/** Headers of every JSON response: Plug's default cache-control, as SRH sends it. */
export const JSON_HEADERS = {
  "content-type": "application/json",
  "cache-control": "max-age=0, private, must-revalidate",
} as const;

/**
 * The one error type of the HTTP layer: a status plus the `{"error": …}` message it is answered with.
 * @example throw new HttpError(401, MESSAGES.token);
 */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  /** SRH answers its content-type error, and only that one, with a charset. */
  readonly contentType: string;
  constructor(status: number, message: string, contentType = "application/json") {
    super(message);
    this.status = status;
    this.contentType = contentType;
  }
}
