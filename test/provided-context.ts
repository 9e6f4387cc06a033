/** What test/global-setup.ts provides to the Worker tests through `inject()`. */
declare module "vitest" {
  export interface ProvidedContext {
    /** The Redis REST endpoint the Worker under test uses. */
    redisRestUrl: string;
    redisRestToken: string;
    /**
     * A REST server over the same Redis and with the same token that refuses Upstash's `allow-key-locking`
     * script flag, as SRH does. Undefined when UPSTASH_REDIS_REST_URL names an external endpoint, whose Redis
     * the tests cannot reach: tests that need it skip then.
     */
    strictFlagsRestUrl: string | undefined;
    /** A port nothing listens on: every connection is refused at once. */
    refusingUrl: string;
    /** A server that accepts connections and never answers: a Redis that hangs. */
    hangingUrl: string;
    /** The limiter Worker bundled by test/build-limiter.ts, for the gate tests. */
    limiterScript: string;
    /** test/faults/global-setup.ts: the fault proxy, in front of a REST server over a Redis of its own. */
    faultProxyUrl: string;
    /** That REST server itself, to read and prepare Redis without going through the proxy. */
    faultRestUrl: string;
    faultRestToken: string;
  }
}

export {};
