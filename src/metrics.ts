import type { Decision } from "./limiter/decision.ts";

/** What became of one request, as the metrics count it. */
type Outcome =
  | "allowed"
  | "allowed-leased"
  | "denied"
  | "denied-cached"
  | "shadow-denied"
  | "exempt"
  | "degraded"
  | "unavailable";

/** The outcome of a decision; `undefined` means Redis could not answer and FAIL_MODE closed it (503). */
function outcomeOf(decision: Decision | undefined): Outcome {
  if (decision === undefined) return "unavailable";
  if (decision.decidedBy === "fail-open") return "degraded";
  if (decision.exempt) return "exempt";
  if (decision.shadow) return decision.shadow.wouldAllow ? "allowed" : "shadow-denied";
  // Exemptions aside, an isolate alone admits only from its lease, and denies only what Redis would.
  if (decision.decidedBy === "isolate") return decision.allowed ? "allowed-leased" : "denied-cached";
  return decision.allowed ? "allowed" : "denied";
}

/** Records one data point per decision, when an Analytics Engine dataset is bound. */
export interface Metrics {
  /** Resolves once the point is written: hand it to `waitUntil`, so the answer never waits for it. */
  record(tier: string, identifier: string, cost: number, decision: Decision | undefined): Promise<void>;
}

/**
 * One data point per decision in Workers Analytics Engine: `index1` the tier; `blob1` the tier,
 * `blob2` the outcome, `blob3` a keyed hash of the identifier (HMAC-SHA-256 under `hashKey`,
 * 128 bits in hex: the same identifier always gives the same hash, and nobody without the key can
 * tell whose it is); `double1` the cost, `double2` the tokens left (-1 when unknown).
 */
export function createMetrics(dataset: AnalyticsEngineDataset, hashKey: string): Metrics {
  const key = crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(hashKey),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return {
    async record(tier, identifier, cost, decision) {
      const mac = await crypto.subtle.sign("HMAC", await key, new TextEncoder().encode(identifier));
      const digest = Array.from(new Uint8Array(mac, 0, 16), (byte) =>
        byte.toString(16).padStart(2, "0"),
      ).join("");
      dataset.writeDataPoint({
        indexes: [tier],
        blobs: [tier, outcomeOf(decision), digest],
        doubles: [cost, decision?.mostRestrictive?.remaining ?? -1],
      });
    },
  };
}
