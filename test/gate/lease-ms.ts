/**
 * LEASE_MS of the two limiter Workers that share buckets in leases.test.ts (vitest.config.ts deploys
 * them): short, so the test waits little for their leases to end.
 */
export const TEST_LEASE_MS = 300;
