/** What test/global-setup.ts provides to the Worker tests through `inject()`. */
declare module "vitest" {
  export interface ProvidedContext {
    /** The Redis REST endpoint the Worker under test uses. */
    redisRestUrl: string;
    redisRestToken: string;
    /** A port nothing listens on: every connection is refused at once. */
    refusingUrl: string;
    /** A server that accepts connections and never answers: a Redis that hangs. */
    hangingUrl: string;
    /** The limiter Worker bundled by test/gate/build-limiter.ts, for the gate tests. */
    limiterScript: string;
  }
}

export {};
